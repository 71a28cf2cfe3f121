from django.urls import path

from disputes import views

app_name = "disputes"
urlpatterns = [
    path("", views.my_disputes, name="my_disputes"),
    path("open/<int:escrow_pk>/", views.dispute_open, name="dispute_open"),
    path("<int:pk>/", views.dispute_detail, name="dispute_detail"),
    path("<int:pk>/messages/", views.dispute_message, name="dispute_message"),
    path("<int:pk>/evidence/", views.dispute_evidence, name="dispute_evidence"),
    path("<int:pk>/evidence/<int:evidence_pk>/", views.evidence_download, name="evidence_download"),
    path("<int:pk>/settlement/", views.dispute_propose, name="dispute_propose"),
    path("<int:pk>/settlement/accept/", views.dispute_accept, name="dispute_accept"),
    path("<int:pk>/withdraw/", views.dispute_withdraw, name="dispute_withdraw"),
    path("<int:pk>/escalate/", views.dispute_escalate, name="dispute_escalate"),
]
