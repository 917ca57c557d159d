using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class MessageTextTests
{
    [Theory]
    [InlineData("hello")]
    [InlineData("line one\nline two")]
    [InlineData("col\tumn")]
    [InlineData("crlf\r\nline")]
    [InlineData("  leading and trailing spaces are kept  ")]
    [InlineData("emoji \U0001F600 and ünïcödé and 中文")]
    public void Valid_text_is_kept_byte_exact(string given)
    {
        var text = MessageText.Parse(given, 100);

        Assert.Equal(given, text.Value);
        Assert.Equal(given, text.ToString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("\n\t\r")]
    public void Empty_or_white_space_text_is_validation_failed(string? given)
    {
        var ex = Assert.Throws<ChatException>(() => MessageText.Parse(given, 100));

        Assert.Equal(ChatErrorCodes.ValidationFailed, ex.Code);
        Assert.Equal("A message must not be empty.", ex.Message);
        Assert.Equal(["text"], ex.Errors!.Keys);
    }

    [Fact]
    public void Text_longer_than_the_maximum_is_payload_too_large_and_the_maximum_itself_is_accepted()
    {
        Assert.Equal(10, MessageText.Parse("0123456789", 10).Value.Length);

        var ex = Assert.Throws<ChatException>(() => MessageText.Parse("0123456789A", 10));

        Assert.Equal(ChatErrorCodes.PayloadTooLarge, ex.Code);
        Assert.Equal("A message is at most 10 characters.", ex.Message);
        Assert.Equal(["At most 10 characters."], ex.Errors!["text"]);
    }

    [Theory]
    [InlineData("nul\u0000byte", "A message must not contain control characters (U+0000 at 3).")]
    [InlineData("bell\u0007", "A message must not contain control characters (U+0007 at 4).")]
    [InlineData("\u001b[31mred", "A message must not contain control characters (U+001B at 0).")]
    [InlineData("del\u007f", "A message must not contain control characters (U+007F at 3).")]
    [InlineData("c1\u0085", "A message must not contain control characters (U+0085 at 2).")]
    public void Control_characters_other_than_line_breaks_and_tabs_are_rejected_naming_the_position(string given, string message)
    {
        var ex = Assert.Throws<ChatException>(() => MessageText.Parse(given, 100));

        Assert.Equal(ChatErrorCodes.ValidationFailed, ex.Code);
        Assert.Equal(message, ex.Message);
        Assert.Equal(["text"], ex.Errors!.Keys);
    }

    [Fact]
    public void Unpaired_surrogates_are_rejected()
    {
        // Built here: test data is serialized and an unpaired surrogate would not survive it.
        foreach (var given in new[] { "hi \uD800", "\uD800 hi", "lo \uDC00", "x\uDE00\uD83D" })
        {
            var ex = Assert.Throws<ChatException>(() => MessageText.Parse(given, 100));
            Assert.Equal(ChatErrorCodes.ValidationFailed, ex.Code);
            Assert.Equal("A message must be valid Unicode (unpaired surrogate).", ex.Message);
        }
    }

    [Fact]
    public void A_maximum_below_one_is_an_argument_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MessageText.Parse("hi", 0));

    [Fact]
    public void Equality_is_ordinal()
    {
        Assert.Equal(MessageText.Parse("Hi", 10), MessageText.Parse("Hi", 20));
        Assert.NotEqual(MessageText.Parse("Hi", 10), MessageText.Parse("hi", 10));
        Assert.Equal(MessageText.Parse("Hi", 10).GetHashCode(), MessageText.Parse("Hi", 10).GetHashCode());
        Assert.False(MessageText.Parse("Hi", 10).Equals(null));
    }
}
