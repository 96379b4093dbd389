from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "cueillette.referrals"
    label = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # Rewards are granted when the friend's first qualifying purchase is recorded and
        # reversed when it is fully refunded: PURCHASE_RECORDED / PURCHASE_REFUNDED subscribers,
        # inside the purchase's transaction.
        from cueillette.core import demo as core_demo
        from cueillette.core import scheduling
        from cueillette.referrals import counter, demo, rewards

        rewards.register_hooks()
        # The counter's member screen and purchase confirmation say what became of a referral.
        counter.register_counter_notes()
        # Flagged referrals past their review deadline get the default; the demo's referrals.
        scheduling.register_job("cueillette.referrals.tasks")
        core_demo.register(demo.load)
