from django.apps import AppConfig


class ReferralsConfig(AppConfig):
    name = "cueillette.referrals"
    label = "referrals"
    verbose_name = "Referrals"

    def ready(self) -> None:
        # Rewards are granted when the friend's first qualifying purchase is recorded and
        # reversed when it is fully refunded: PURCHASE_RECORDED / PURCHASE_REFUNDED subscribers,
        # inside the purchase's transaction.
        from cueillette.referrals import counter, rewards

        rewards.register_hooks()
        # The counter's member screen and purchase confirmation say what became of a referral.
        counter.register_counter_notes()
