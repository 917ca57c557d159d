using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using ChitChat.Contracts;

namespace ChitChat;

/// <summary>
/// A valid room name: a case-insensitive slug of <c>[a-z0-9_-]</c>, 1 to 64 characters, kept in its lower-case form, which
/// is the room's key everywhere (store, transport, hub groups). Equality is ordinal on that form, so <c>Global</c> and
/// <c>global</c> are the same room.
/// </summary>
/// <remarks>
/// Parsing a name once, where it enters (a hub argument, a route value, a request body), and passing the parsed value on
/// means every service can rely on it without checking it again; the error a client sees names the field it came in.
/// </remarks>
public sealed partial class RoomName : IEquatable<RoomName>
{
    private RoomName(string value) => Value = value;

    /// <summary>Gets the normalized (lower-case) name.</summary>
    public string Value { get; }

    /// <summary>Converts a room name to its normalized string.</summary>
    /// <param name="name">The room name.</param>
    [return: NotNullIfNotNull(nameof(name))]
    public static implicit operator string?(RoomName? name) => name?.Value;

    /// <summary>Compares two room names ordinally.</summary>
    /// <param name="left">The first name.</param>
    /// <param name="right">The second name.</param>
    /// <returns><see langword="true"/> when both are the same room (or both <see langword="null"/>).</returns>
    public static bool operator ==(RoomName? left, RoomName? right) => Equals(left, right);

    /// <summary>Compares two room names ordinally.</summary>
    /// <param name="left">The first name.</param>
    /// <param name="right">The second name.</param>
    /// <returns><see langword="true"/> when they are different rooms.</returns>
    public static bool operator !=(RoomName? left, RoomName? right) => !Equals(left, right);

    /// <summary>Parses and normalizes a room name.</summary>
    /// <param name="value">The room name as given (any case).</param>
    /// <param name="field">The field name the validation error names (camelCase, as on the wire).</param>
    /// <returns>The room name.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> when <paramref name="value"/> is missing or not a valid name.</exception>
    public static RoomName Parse(string? value, string field = "room")
    {
        ArgumentNullException.ThrowIfNull(field);
        if (string.IsNullOrEmpty(value))
        {
            throw ChatException.Validation(field, "A room name is required.");
        }

        return TryParse(value, out var name)
            ? name
            : throw ChatException.Validation(field, "A room name is 1 to 64 characters of a-z, 0-9, '-' and '_'.");
    }

    /// <summary>Parses and normalizes a room name without throwing.</summary>
    /// <param name="value">The room name as given (any case).</param>
    /// <param name="name">The room name, when valid.</param>
    /// <returns><see langword="true"/> when <paramref name="value"/> is a valid room name.</returns>
    public static bool TryParse([NotNullWhen(true)] string? value, [NotNullWhen(true)] out RoomName? name)
    {
        if (!string.IsNullOrEmpty(value))
        {
            var normalized = value.ToLowerInvariant();
            if (SlugRegex().IsMatch(normalized))
            {
                name = new RoomName(normalized);
                return true;
            }
        }

        name = null;
        return false;
    }

    /// <inheritdoc />
    public bool Equals(RoomName? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as RoomName);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    /// <summary>Returns the normalized name.</summary>
    /// <returns><see cref="Value"/>.</returns>
    public override string ToString() => Value;

    [GeneratedRegex(@"^[a-z0-9_-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex SlugRegex();
}
