from django.urls import path, re_path

from payments.api import views, wallet

urlpatterns = [
    path("escrows/", views.EscrowListApi.as_view(), name="payments-api-escrow-list"),
    path("escrows/<int:pk>/", views.EscrowDetailApi.as_view(), name="payments-api-escrow-detail"),
    path("escrows/<int:pk>/checkout/", views.EscrowCheckoutApi.as_view(), name="payments-api-escrow-checkout"),
    path("escrows/<int:pk>/confirm/", views.EscrowConfirmApi.as_view(), name="payments-api-escrow-confirm"),
    path("escrows/<int:pk>/approve/", views.EscrowApproveApi.as_view(), name="payments-api-escrow-approve"),
    path(
        "escrows/<int:pk>/fund-from-wallet/",
        wallet.EscrowFundFromWalletApi.as_view(),
        name="payments-api-escrow-fund-from-wallet",
    ),
    path("cards/", wallet.CardListApi.as_view(), name="payments-api-cards"),
    path("cards/setup/", wallet.CardSetupApi.as_view(), name="payments-api-card-setup"),
    re_path(
        r"^cards/setup/(?P<setup_id>seti_[A-Za-z0-9_]{1,200})/confirm/$",
        wallet.CardSetupConfirmApi.as_view(),
        name="payments-api-card-setup-confirm",
    ),
    re_path(r"^cards/(?P<card_id>pm_[A-Za-z0-9_]{1,200})/$", wallet.CardDetailApi.as_view(), name="payments-api-card"),
    re_path(
        r"^cards/(?P<card_id>pm_[A-Za-z0-9_]{1,200})/default/$",
        wallet.CardDefaultApi.as_view(),
        name="payments-api-card-default",
    ),
    path("wallet/top-ups/", wallet.TopUpListApi.as_view(), name="payments-api-top-ups"),
    path("wallet/top-ups/<int:pk>/", wallet.TopUpDetailApi.as_view(), name="payments-api-top-up"),
    path("wallet/top-ups/<int:pk>/confirm/", wallet.TopUpConfirmApi.as_view(), name="payments-api-top-up-confirm"),
    path("wallet/top-ups/<int:pk>/withdraw/", wallet.TopUpWithdrawApi.as_view(), name="payments-api-top-up-withdraw"),
    path("payment-sheet/", wallet.PaymentSheetApi.as_view(), name="payments-api-payment-sheet"),
]
