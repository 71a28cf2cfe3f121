from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts import services
from core.errors import ApplicationError
from core.http import client_ip


class LoginForm(AuthenticationForm):
    username = forms.EmailField(
        label="Email", widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )

    def clean(self):
        email = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        try:
            services.login_throttle_check(email=email, ip=ip)
        except ApplicationError as exc:
            raise forms.ValidationError(exc.message, code=exc.code)
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            services.login_failure_record(email=email, ip=ip)
            raise
        services.login_success_record(email=email, ip=ip)
        return cleaned


class SignupForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), min_length=8)
    is_client = forms.BooleanField(required=False, initial=True, label="I want to post tasks (client)")
    is_tasker = forms.BooleanField(required=False, label="I want to do tasks (tasker)")


class ProfileForm(forms.Form):
    name = forms.CharField(max_length=150, required=False, label="Your name")
    display_name = forms.CharField(max_length=80, required=False, help_text="Shown to others.")
    headline = forms.CharField(max_length=140, required=False)
    bio = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=2000, required=False)
    skills = forms.CharField(max_length=800, required=False, help_text="Separate skills with commas.")
    is_client = forms.BooleanField(required=False, label="I post tasks (client)")
    is_tasker = forms.BooleanField(required=False, label="I do tasks (tasker)")
