using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class RoomNameTests
{
    [Theory]
    [InlineData("GLOBAL", "global")]
    [InlineData("Dev-Ops_2", "dev-ops_2")]
    [InlineData("x", "x")]
    [InlineData("0123456789", "0123456789")]
    public void Parse_keeps_the_lower_case_form(string given, string expected)
    {
        var name = RoomName.Parse(given);

        Assert.Equal(expected, name.Value);
        Assert.Equal(expected, name.ToString());
        string asString = name;
        Assert.Equal(expected, asString);
    }

    [Fact]
    public void A_name_of_64_characters_is_valid_and_65_is_not()
    {
        var longest = new string('a', 32) + new string('9', 31) + "_";

        Assert.Equal(longest, RoomName.Parse(longest).Value);
        Assert.False(RoomName.TryParse(longest + "a", out _));
    }

    [Theory]
    [MemberData(nameof(RoomTests.InvalidNames), MemberType = typeof(RoomTests))]
    public void An_invalid_name_does_not_parse(string? given)
    {
        Assert.False(RoomName.TryParse(given, out var name));
        Assert.Null(name);
        var ex = Assert.Throws<ChatException>(() => RoomName.Parse(given));
        Assert.Equal(ChatErrorCodes.ValidationFailed, ex.Code);
        Assert.Equal(["room"], ex.Errors!.Keys);
    }

    [Theory]
    [InlineData(null, "A room name is required.")]
    [InlineData("", "A room name is required.")]
    [InlineData(" ", "A room name is 1 to 64 characters of a-z, 0-9, '-' and '_'.")]
    [InlineData("a.b", "A room name is 1 to 64 characters of a-z, 0-9, '-' and '_'.")]
    public void The_error_names_the_given_field_with_todays_message(string? given, string message)
    {
        var ex = Assert.Throws<ChatException>(() => RoomName.Parse(given, "chatroom"));

        Assert.Equal(message, ex.Message);
        Assert.Equal([message], ex.Errors!["chatroom"]);
    }

    [Fact]
    public void TryParse_normalizes_like_Parse()
    {
        Assert.True(RoomName.TryParse("LoBbY", out var name));
        Assert.Equal("lobby", name.Value);
    }

    [Fact]
    public void Names_differing_only_in_case_are_equal_and_hash_alike()
    {
        var upper = RoomName.Parse("LOBBY");
        var lower = RoomName.Parse("lobby");
        var other = RoomName.Parse("lobby2");

        Assert.Equal(upper, lower);
        Assert.True(upper == lower);
        Assert.False(upper != lower);
        Assert.Equal(upper.GetHashCode(), lower.GetHashCode());
        Assert.NotEqual(upper, other);
        Assert.True(upper != other);
        Assert.False(upper.Equals(null));
        Assert.False(upper.Equals((object)"lobby"));
        Assert.Single(new HashSet<RoomName> { upper, lower });
    }

    [Fact]
    public void Parse_rejects_a_null_field_name() =>
        Assert.Equal("field", Assert.Throws<ArgumentNullException>(() => RoomName.Parse("global", null!)).ParamName);
}
