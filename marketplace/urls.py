from django.urls import path

from marketplace import views

app_name = "marketplace"
urlpatterns = [
    path("", views.task_list, name="task_list"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/mine/", views.my_tasks, name="my_tasks"),
    path("offers/mine/", views.my_offers, name="my_offers"),
    path("tasks/<int:pk>/", views.task_detail, name="task_detail"),
    path("tasks/<int:pk>/edit/", views.task_edit, name="task_edit"),
    path("tasks/<int:pk>/offers/", views.offer_submit, name="offer_submit"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("tasks/<int:pk>/deliver/", views.task_deliver, name="task_deliver"),
    path("tasks/<int:pk>/request-changes/", views.task_request_changes, name="task_request_changes"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("offers/<int:pk>/accept/", views.offer_accept, name="offer_accept"),
    path("offers/<int:pk>/reject/", views.offer_reject, name="offer_reject"),
    path("offers/<int:pk>/withdraw/", views.offer_withdraw, name="offer_withdraw"),
]
