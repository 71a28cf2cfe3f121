from django.urls import path

from marketplace.api import views

urlpatterns = [
    path("tasks/", views.TaskListApi.as_view(), name="market-api-task-list"),
    path("tasks/mine/", views.TaskMineApi.as_view(), name="market-api-task-mine"),
    path("tasks/<int:pk>/", views.TaskDetailApi.as_view(), name="market-api-task-detail"),
    path("tasks/<int:pk>/cancel/", views.TaskCancelApi.as_view(), name="market-api-task-cancel"),
    path("tasks/<int:pk>/deliver/", views.TaskDeliverApi.as_view(), name="market-api-task-deliver"),
    path(
        "tasks/<int:pk>/request-changes/",
        views.TaskRequestChangesApi.as_view(),
        name="market-api-task-request-changes",
    ),
    path("tasks/<int:pk>/complete/", views.TaskCompleteApi.as_view(), name="market-api-task-complete"),
    path("tasks/<int:pk>/offers/", views.TaskOffersApi.as_view(), name="market-api-task-offers"),
    path("offers/mine/", views.OfferMineApi.as_view(), name="market-api-offer-mine"),
    path("offers/<int:pk>/", views.OfferDetailApi.as_view(), name="market-api-offer-detail"),
    path("offers/<int:pk>/withdraw/", views.OfferWithdrawApi.as_view(), name="market-api-offer-withdraw"),
    path("offers/<int:pk>/accept/", views.OfferAcceptApi.as_view(), name="market-api-offer-accept"),
    path("offers/<int:pk>/reject/", views.OfferRejectApi.as_view(), name="market-api-offer-reject"),
    # The escrow's task operations (the rest of the escrow API is payments.api.urls).
    path(
        "escrows/<int:pk>/request-changes/",
        views.EscrowRequestChangesApi.as_view(),
        name="payments-api-escrow-request-changes",
    ),
    path("escrows/<int:pk>/cancel/", views.EscrowCancelApi.as_view(), name="payments-api-escrow-cancel"),
]
