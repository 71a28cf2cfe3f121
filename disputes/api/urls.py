from django.urls import path

from disputes.api import views

urlpatterns = [
    path("disputes/", views.DisputeListApi.as_view(), name="disputes-api-list"),
    path("escrows/<int:pk>/dispute/", views.DisputeOpenApi.as_view(), name="disputes-api-open"),
    path("disputes/<int:pk>/", views.DisputeDetailApi.as_view(), name="disputes-api-detail"),
    path("disputes/<int:pk>/messages/", views.DisputeMessageApi.as_view(), name="disputes-api-message"),
    path("disputes/<int:pk>/evidence/", views.DisputeEvidenceApi.as_view(), name="disputes-api-evidence"),
    path(
        "disputes/<int:pk>/evidence/<int:evidence_id>/",
        views.DisputeEvidenceDownloadApi.as_view(),
        name="disputes-api-evidence-download",
    ),
    path("disputes/<int:pk>/settlement/", views.DisputeSettlementProposeApi.as_view(), name="disputes-api-propose"),
    path(
        "disputes/<int:pk>/settlement/accept/",
        views.DisputeSettlementAcceptApi.as_view(),
        name="disputes-api-accept",
    ),
    path("disputes/<int:pk>/withdraw/", views.DisputeWithdrawApi.as_view(), name="disputes-api-withdraw"),
    path("disputes/<int:pk>/escalate/", views.DisputeEscalateApi.as_view(), name="disputes-api-escalate"),
]
