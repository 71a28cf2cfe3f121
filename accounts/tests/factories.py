import factory

from accounts.models import Profile, User

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Profile

    user = factory.SubFactory(UserFactory)
    is_client = True
    is_tasker = False


class ClientFactory(UserFactory):
    profile = factory.RelatedFactory(ProfileFactory, factory_related_name="user", is_client=True, is_tasker=False)


class TaskerFactory(UserFactory):
    profile = factory.RelatedFactory(
        ProfileFactory, factory_related_name="user", is_client=False, is_tasker=True, headline="Handy and careful"
    )
