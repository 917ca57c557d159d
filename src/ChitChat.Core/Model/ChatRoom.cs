using System.Security.Cryptography;
using System.Text;

namespace ChitChat;

/// <summary>A chat room. Its <see cref="Name"/> is a lower-case slug and is the room's key everywhere.</summary>
/// <param name="Id">The stable identifier of the room.</param>
/// <param name="Name">The room name: a lower-case slug of <c>[a-z0-9_-]</c>, 1 to 64 characters.</param>
/// <param name="CreatedBy">The id of the user who created the room, or <see langword="null"/> for rooms created by the system.</param>
/// <param name="CreatedAt">When the room was created (server time, UTC).</param>
/// <param name="Version">The document version; starts at 1 and grows with every change of the room document (topic,
/// <see cref="MembershipVersion"/>); last writer wins in replication.</param>
public sealed record ChatRoom(
    Guid Id,
    string Name,
    Guid? CreatedBy,
    DateTimeOffset CreatedAt,
    long Version)
{
    /// <summary>The prefix reserved for the names of direct rooms (see <see cref="DirectRoomName"/>).</summary>
    public const string DirectPrefix = "dm-";

    /// <summary>Gets the kind of room; <see cref="RoomKind.Public"/> for rooms stored before kinds existed.</summary>
    public RoomKind Kind { get; init; } = RoomKind.Public;

    /// <summary>Gets the room's topic, or <see langword="null"/>.</summary>
    public string? Topic { get; init; }

    /// <summary>
    /// Gets the room's membership version: the compare-and-set token of its memberships. It starts at 0 and the store
    /// increments it (and <see cref="Version"/>) with every successful
    /// <see cref="Storage.IMembershipStore.TryApplyAsync(string, long, IReadOnlyList{RoomMembership}, CancellationToken)"/>,
    /// so two membership changes decided on the same state cannot both apply.
    /// </summary>
    public long MembershipVersion { get; init; }

    /// <summary>
    /// Gets the name of the direct room of a set of people: <c>dm-</c> followed by 32 lower-case hex digits of the SHA-256 of
    /// their sorted, distinct ids. The same set always gets the same name, whatever the order or repetitions, on every node.
    /// </summary>
    /// <param name="memberIds">The members' user ids (the creator included).</param>
    /// <returns>The room name (35 characters, a valid <see cref="RoomName"/>).</returns>
    /// <exception cref="ArgumentException">Fewer than two distinct ids.</exception>
    public static string DirectRoomName(IEnumerable<Guid> memberIds)
    {
        ArgumentNullException.ThrowIfNull(memberIds);
        var ids = memberIds.Distinct().Order().ToArray();
        if (ids.Length < 2)
        {
            throw new ArgumentException("A direct room has at least two distinct members.", nameof(memberIds));
        }

        var text = string.Join(',', ids.Select(id => id.ToString("D", System.Globalization.CultureInfo.InvariantCulture)));
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        return DirectPrefix + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }
}

/// <summary>The kind of a room (protocol version 2).</summary>
public enum RoomKind
{
    /// <summary>Listed; anyone who is not banned may read and join it.</summary>
    Public = 0,

    /// <summary>Members only; invisible to everyone else.</summary>
    Private = 1,

    /// <summary>A conversation of a fixed set of people (2 or more), named by <see cref="ChatRoom.DirectRoomName"/>.</summary>
    Direct = 2,
}
