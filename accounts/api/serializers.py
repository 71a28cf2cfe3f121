from rest_framework import serializers


class RegisterInputSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(write_only=True, min_length=8, max_length=128)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    is_client = serializers.BooleanField(default=True)
    is_tasker = serializers.BooleanField(default=False)


class ProfileUpdateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    headline = serializers.CharField(max_length=140, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    skills = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20, required=False)
    is_client = serializers.BooleanField(required=False)
    is_tasker = serializers.BooleanField(required=False)


class MeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    name = serializers.CharField()
    is_client = serializers.BooleanField(source="profile.is_client")
    is_tasker = serializers.BooleanField(source="profile.is_tasker")
    display_name = serializers.CharField(source="profile.display_name")
    public_name = serializers.CharField(source="profile.public_name")
    headline = serializers.CharField(source="profile.headline")
    bio = serializers.CharField(source="profile.bio")
    skills = serializers.ListField(child=serializers.CharField(), source="profile.skills")
    date_joined = serializers.DateTimeField()
