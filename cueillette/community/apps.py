from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "cueillette.community"
    label = "community"
    verbose_name = "Community"

    def ready(self) -> None:
        # A customer's erasure anonymises them as the author of community posts.
        # Their posts, appeals and me-too marks are part of their data export.
        from cueillette.community import queries, services
        from cueillette.customers import portal

        portal.register_eraser(services.erase_author)
        portal.register_exporter(queries.export_files)
