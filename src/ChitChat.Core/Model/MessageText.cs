using System.Globalization;
using ChitChat.Contracts;

namespace ChitChat;

/// <summary>
/// A valid message text: not empty or white space only, at most the configured length
/// (<see cref="ChitChatOptions.MaxMessageLength"/>), no control characters other than <c>\n</c>, <c>\r</c> and <c>\t</c>,
/// and no unpaired surrogates. The text is kept byte-exact (nothing is trimmed or normalized). Equality is ordinal.
/// </summary>
public sealed class MessageText : IEquatable<MessageText>
{
    private MessageText(string value) => Value = value;

    /// <summary>Gets the text.</summary>
    public string Value { get; }

    /// <summary>Validates a message text.</summary>
    /// <param name="value">The text as given.</param>
    /// <param name="maxLength">The maximum length in UTF-16 code units (<see cref="ChitChatOptions.MaxMessageLength"/>).</param>
    /// <returns>The text.</returns>
    /// <exception cref="ChatException">
    /// <see cref="ChatErrorCodes.PayloadTooLarge"/> when longer than <paramref name="maxLength"/>, otherwise
    /// <see cref="ChatErrorCodes.ValidationFailed"/> when invalid; either names the field <c>text</c>.
    /// </exception>
    public static MessageText Parse(string? value, int maxLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLength, 1);
        if (string.IsNullOrWhiteSpace(value))
        {
            throw ChatException.Validation("text", "A message must not be empty.");
        }

        if (value.Length > maxLength)
        {
            throw new ChatException(
                ChatErrorCodes.PayloadTooLarge,
                string.Create(CultureInfo.InvariantCulture, $"A message is at most {maxLength} characters."),
                new Dictionary<string, string[]> { ["text"] = [string.Create(CultureInfo.InvariantCulture, $"At most {maxLength} characters.")] });
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsControl(c) && c is not '\n' and not '\r' and not '\t')
            {
                throw ChatException.Validation("text", string.Create(CultureInfo.InvariantCulture, $"A message must not contain control characters (U+{(int)c:X4} at {i})."));
            }

            if (char.IsHighSurrogate(c) && (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1])))
            {
                throw ChatException.Validation("text", "A message must be valid Unicode (unpaired surrogate).");
            }

            if (char.IsLowSurrogate(c) && (i == 0 || !char.IsHighSurrogate(value[i - 1])))
            {
                throw ChatException.Validation("text", "A message must be valid Unicode (unpaired surrogate).");
            }
        }

        return new MessageText(value);
    }

    /// <inheritdoc />
    public bool Equals(MessageText? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as MessageText);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>Returns the text.</summary>
    /// <returns><see cref="Value"/>.</returns>
    public override string ToString() => Value;
}
