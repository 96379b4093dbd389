from ninja import NinjaAPI

api = NinjaAPI(title="Cueillette API", version="1", urls_namespace="api")
