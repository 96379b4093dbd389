"""Factories shared by every app's tests.

Rows are created with ``unscoped()`` managers so factories work with or without a current
organization; pass ``organization=`` for tenant rows (defaults to a fresh organization).
"""

from __future__ import annotations

from typing import Any

import factory
from faker import Faker

from cueillette.accounts.models import Membership, Role, User
from cueillette.core import tenancy
from cueillette.core.models import Organization
from cueillette.customers.models import Customer
from cueillette.customers.normalize import fold, phone_search_key
from cueillette.customers.services import seed_wordings

fake = Faker("fr_FR")


class UnscopedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> Any:
        org = kwargs.get("organization")
        with tenancy.tenant_context(org):
            obj = model_class(*args, **kwargs)
            obj.save()
        return obj


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Établissement {n}")
    slug = factory.Sequence(lambda n: f"etablissement-{n}")
    language = "fr"

    @factory.post_generation
    def wordings(obj: Organization, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            seed_wordings(obj)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"staff{n}@example.org")
    full_name = factory.LazyFunction(fake.name)
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def saved(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class MembershipFactory(UnscopedFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER


class CustomerFactory(UnscopedFactory):
    class Meta:
        model = Customer

    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.LazyFunction(fake.first_name)
    last_name = factory.LazyFunction(fake.last_name)
    email = factory.Sequence(lambda n: f"client{n}@example.net")
    phone = factory.Sequence(lambda n: f"+33612{n:06d}")
    postal_code = "75011"
    language = "fr"
    search_last = factory.LazyAttribute(lambda o: fold(o.last_name))
    search_first = factory.LazyAttribute(lambda o: fold(o.first_name))
    search_phone = factory.LazyAttribute(lambda o: phone_search_key(o.phone))
