"""The domain's names: the ID stands in when nothing better is known."""

from bot.names import IdNames, Names


def test_id_names_return_the_id():
    names: Names = IdNames()
    assert names.name("U0ANN1") == "U0ANN1" and names.name("S0GRP") == "S0GRP" and names.name("") == ""
