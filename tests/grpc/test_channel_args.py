import pytest

from sigserve.grpc.channel_args import DEFAULT_OPTIONS, parse_channel_arguments, server_options


def test_ints_and_strings_as_tf_serving() -> None:
    assert parse_channel_arguments(
        "grpc.max_send_message_length=1024,grpc.primary_user_agent=me,grpc.x=-3"
    ) == [("grpc.max_send_message_length", 1024), ("grpc.primary_user_agent", "me"), ("grpc.x", -3)]


def test_values_beyond_int32_stay_strings() -> None:
    assert parse_channel_arguments("a=2147483647,b=2147483648,c=1.5") == [
        ("a", 2147483647),
        ("b", "2147483648"),
        ("c", "1.5"),
    ]


def test_empty_items_and_spaces_around_keys() -> None:
    assert parse_channel_arguments("") == []
    assert parse_channel_arguments("a=1, b=x,") == [("a", 1), ("b", "x")]
    assert parse_channel_arguments("a=") == [("a", "")]


@pytest.mark.parametrize("text", ["novalue", "=3", "a=1,b"])
def test_malformed_items_are_errors(text: str) -> None:
    with pytest.raises(ValueError, match="key=value"):
        parse_channel_arguments(text)


def test_defaults_lift_message_limits_and_flags_override_them() -> None:
    assert dict(server_options("")) == DEFAULT_OPTIONS
    options = dict(server_options("grpc.max_receive_message_length=100,other=1"))
    assert options["grpc.max_receive_message_length"] == 100
    assert options["grpc.max_send_message_length"] == 2**31 - 1
    assert options["other"] == 1
