using System.Globalization;
using ChitChat.Contracts;

namespace ChitChat.Client;

/// <summary>Rooms, members, roles, mutes, bans, direct rooms and the user directory (HTTP API).</summary>
public sealed partial class ChitChatClient
{
    /// <summary>Creates a room; the caller becomes its owner.</summary>
    /// <param name="name">The room name (a slug: <c>[a-z0-9-_]</c>, 1 to 64 characters; not starting with <c>dm-</c>).</param>
    /// <param name="kind"><c>public</c> (listed, anyone may join; the default when <see langword="null"/>) or <c>private</c> (members only).</param>
    /// <param name="topic">The topic, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChitChatException"><c>validation_failed</c>, <c>room_exists</c>.</exception>
    public Task<RoomDto> CreateRoomAsync(string name, string? kind = null, string? topic = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return SendHttpAsync<RoomDto>(HttpMethod.Post, ChitChatRoutes.Rooms, new CreateRoomBody(name, kind, topic), authenticated: true, cancellationToken);
    }

    /// <summary>Creates a public room; the caller becomes its owner.</summary>
    /// <param name="name">The room name (a slug: <c>[a-z0-9-_]</c>, 1 to 64 characters; not starting with <c>dm-</c>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChitChatException"><c>validation_failed</c>, <c>room_exists</c>.</exception>
    public Task<RoomDto> CreateRoomAsync(string name, CancellationToken cancellationToken) =>
        CreateRoomAsync(name, null, null, cancellationToken);

    /// <summary>Reads a room (<c>GET /api/rooms/{room}</c>).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c> (also for a private or direct room the caller is not a member of), <c>forbidden</c> (banned).</exception>
    public Task<RoomDto> GetRoomAsync(string room, CancellationToken cancellationToken = default) =>
        SendHttpAsync<RoomDto>(HttpMethod.Get, RoomPath(room), null, authenticated: true, cancellationToken);

    /// <summary>Lists a room's members with their roles and mutes.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The members.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>.</exception>
    public async Task<IReadOnlyList<MemberDto>> GetMembersAsync(string room, CancellationToken cancellationToken = default) =>
        await SendHttpAsync<List<MemberDto>>(HttpMethod.Get, RoomPath(room, "members"), null, authenticated: true, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Adds a member: the caller's own name joins a public room; owners and moderators add anyone (the only way into a
    /// private room). Adding an existing member returns it.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The user to add.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The member.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>.</exception>
    public Task<MemberDto> AddMemberAsync(string room, string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return SendHttpAsync<MemberDto>(HttpMethod.Post, RoomPath(room, "members"), new AddMemberBody(userName), authenticated: true, cancellationToken);
    }

    /// <summary>
    /// Removes a member (owners and moderators), or leaves the room when <paramref name="userName"/> is the caller. The removed
    /// user's connections get a <c>removed</c> event and stop receiving the room at once.
    /// </summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The member to remove.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the member was removed.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>, <c>validation_failed</c> (the last owner).</exception>
    public Task RemoveMemberAsync(string room, string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return SendHttpNoContentAsync(HttpMethod.Delete, RoomPath(room, "members", userName), null, cancellationToken);
    }

    /// <summary>Changes a member's role (the owner only).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The member.</param>
    /// <param name="role"><c>owner</c>, <c>moderator</c> or <c>member</c>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The member.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>, <c>validation_failed</c>.</exception>
    public Task<MemberDto> SetMemberRoleAsync(string room, string userName, string role, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        ArgumentException.ThrowIfNullOrWhiteSpace(role);
        return SendHttpAsync<MemberDto>(HttpMethod.Patch, RoomPath(room, "members", userName), new Dictionary<string, object?> { ["role"] = role }, authenticated: true, cancellationToken);
    }

    /// <summary>Mutes a member until a time (owners and moderators): their sends, edits and reactions are refused with <c>forbidden</c>.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The member.</param>
    /// <param name="until">When the mute ends (in the future).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The member.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>, <c>validation_failed</c>.</exception>
    public Task<MemberDto> MuteMemberAsync(string room, string userName, DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        var body = new Dictionary<string, object?> { ["mutedUntil"] = until.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) };
        return SendHttpAsync<MemberDto>(HttpMethod.Patch, RoomPath(room, "members", userName), body, authenticated: true, cancellationToken);
    }

    /// <summary>Lifts a member's mute (owners and moderators).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The member.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The member.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>.</exception>
    public Task<MemberDto> UnmuteMemberAsync(string room, string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return SendHttpAsync<MemberDto>(HttpMethod.Patch, RoomPath(room, "members", userName), new Dictionary<string, object?> { ["mutedUntil"] = null }, authenticated: true, cancellationToken);
    }

    /// <summary>Bans a user (owners and moderators): removed from the room and barred from rejoining, until <paramref name="until"/> or for good.</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The user.</param>
    /// <param name="reason">The reason (the banned user's <c>removed</c> event carries it), or <see langword="null"/>.</param>
    /// <param name="until">When the ban ends, or <see langword="null"/> for a permanent ban.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the user was banned.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>, <c>validation_failed</c>.</exception>
    public Task BanAsync(string room, string userName, string? reason = null, DateTimeOffset? until = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return SendHttpNoContentAsync(HttpMethod.Put, RoomPath(room, "bans", userName), new BanBody(until?.UtcDateTime, reason), cancellationToken);
    }

    /// <summary>Lifts a ban (owners and moderators).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the ban was lifted.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>, <c>user_not_found</c>.</exception>
    public Task UnbanAsync(string room, string userName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(userName);
        return SendHttpNoContentAsync(HttpMethod.Delete, RoomPath(room, "bans", userName), null, cancellationToken);
    }

    /// <summary>Lists the bans in force (owners and moderators).</summary>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The bans.</returns>
    /// <exception cref="ChitChatException"><c>room_not_found</c>, <c>forbidden</c>.</exception>
    public async Task<IReadOnlyList<BanDto>> GetBansAsync(string room, CancellationToken cancellationToken = default) =>
        await SendHttpAsync<List<BanDto>>(HttpMethod.Get, RoomPath(room, "bans"), null, authenticated: true, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Opens the direct room of the caller and <paramref name="userNames"/> (created on first use; the same set of people always
    /// gets the same room, named <c>dm-…</c>). Join it with <see cref="JoinRoomAsync"/> like any room.
    /// </summary>
    /// <param name="userNames">The other people (1 to <c>ChitChat:MaxDirectMembers</c> - 1).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The direct room.</returns>
    /// <exception cref="ChitChatException"><c>user_not_found</c>, <c>validation_failed</c>.</exception>
    public Task<RoomDto> OpenDirectAsync(IEnumerable<string> userNames, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(userNames);
        return SendHttpAsync<RoomDto>(HttpMethod.Post, DirectRoute, new CreateDirectBody([.. userNames]), authenticated: true, cancellationToken);
    }

    /// <summary>Searches the user directory by user-name prefix (<c>GET /api/users?search=&amp;limit=</c>).</summary>
    /// <param name="search">The prefix (ignoring case); <see langword="null"/> or empty lists users from the start.</param>
    /// <param name="limit">At most this many (the server's default when <see langword="null"/>).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The users, ordered by user name.</returns>
    public async Task<IReadOnlyList<UserProfileDto>> SearchUsersAsync(string? search, int? limit = null, CancellationToken cancellationToken = default)
    {
        var query = "?search=" + Uri.EscapeDataString(search ?? string.Empty)
            + (limit is { } l ? FormattableString.Invariant($"&limit={l}") : string.Empty);
        return await SendHttpAsync<List<UserProfileDto>>(HttpMethod.Get, UsersRoute + query, null, authenticated: true, cancellationToken).ConfigureAwait(false);
    }

    private const string DirectRoute = "/api/direct";
    private const string UsersRoute = "/api/users";

    private static string RoomPath(string room, params string[] segments)
    {
        var path = ChitChatRoutes.Rooms + "/" + Uri.EscapeDataString(NormalizeRoom(room));
        foreach (var segment in segments)
        {
            path += "/" + Uri.EscapeDataString(segment);
        }

        return path;
    }
}
