from django.urls import path, re_path

from payments import views, wallet_views

app_name = "payments"
urlpatterns = [
    path("escrows/<int:pk>/", views.escrow_detail, name="escrow_detail"),
    path("escrows/<int:pk>/checkout/", views.checkout, name="checkout"),
    path("escrows/<int:pk>/confirm/", views.checkout_confirm, name="checkout_confirm"),
    path("escrows/<int:pk>/pay-from-wallet/", views.checkout_from_wallet, name="checkout_from_wallet"),
    path("escrows/<int:pk>/save-card/", views.checkout_save_card, name="checkout_save_card"),
    path("cards/", wallet_views.card_list, name="cards"),
    path("cards/add/", wallet_views.card_add, name="cards_add"),
    path("cards/return/", wallet_views.card_setup_return, name="cards_setup_return"),
    re_path(r"^cards/(?P<reference>pm_[A-Za-z0-9_]{1,200})/remove/$", wallet_views.card_remove, name="card_remove"),
    re_path(
        r"^cards/(?P<reference>pm_[A-Za-z0-9_]{1,200})/default/$", wallet_views.card_make_default, name="card_default"
    ),
    path("top-up/", wallet_views.top_up_new, name="top_up_new"),
    path("top-ups/<int:pk>/", wallet_views.top_up, name="top_up"),
    path("top-ups/<int:pk>/confirm/", wallet_views.top_up_confirm, name="top_up_confirm"),
    path("top-ups/<int:pk>/withdraw/", wallet_views.top_up_withdraw, name="top_up_withdraw"),
    path("top-ups/<int:pk>/save-card/", wallet_views.top_up_save_card, name="top_up_save_card"),
]
