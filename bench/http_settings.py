"""Settings of ``bench/http_bench.py``'s server: the production settings, with a URLconf that adds
one bare DRF view to measure the API reads against."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.http_urls"
