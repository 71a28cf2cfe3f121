"""Holdfast's URLs plus ``/bench/bare/``: an authenticated DRF view returning a constant (the same
authentication, throttling and rendering as every API view, and nothing else)."""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as holdfast_urlpatterns


class BareApi(APIView):
    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("bench/bare/", BareApi.as_view()), *holdfast_urlpatterns]
