using ChitChat.Contracts;
using ChitChat.Rooms;
using ChitChat.Storage;
using ChitChat.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ChitChat.Membership;

/// <summary>
/// Memberships (protocol version 2): who may see and do what in a room (<see cref="RoomAccessRules"/>), joining, adding,
/// removing and leaving, roles, mutes, bans, direct rooms and the caller's room list.
/// </summary>
/// <remarks>
/// Every change is a compare-and-set on the room (<see cref="IMembershipStore.TryApplyAsync"/>): the room is read from the
/// store (never from a cache: its <see cref="ChatRoom.MembershipVersion"/> is the token), then the memberships the decision
/// needs, then the decision is made and applied; when another change got in between, everything is read and decided
/// again. So two owners demoting each other at once cannot both succeed, and nothing half-decided is stored. After the
/// store accepted a change, a <see cref="MembershipChanged"/> per changed member is published with
/// <see cref="CancellationToken.None"/> (the change is committed even if the caller went away).
/// </remarks>
public sealed partial class MembershipService
{
    private const int MaxAttempts = 32;

    private readonly IChatStore _store;
    private readonly IChatTransport _transport;
    private readonly RoomService _rooms;
    private readonly ChitChatOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<MembershipService> _logger;

    /// <summary>Initializes a new instance.</summary>
    /// <param name="store">The store.</param>
    /// <param name="transport">The transport (membership events).</param>
    /// <param name="rooms">The rooms.</param>
    /// <param name="options">The options.</param>
    /// <param name="time">The clock.</param>
    /// <param name="logger">The logger.</param>
    public MembershipService(IChatStore store, IChatTransport transport, RoomService rooms, IOptions<ChitChatOptions> options, TimeProvider time, ILogger<MembershipService> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(rooms);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _transport = transport;
        _rooms = rooms;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    /// <summary>Reads a user's standing in a room.</summary>
    /// <param name="user">The user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user's standing.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> when the room does not exist or is invisible to the user (the same error).</exception>
    public async Task<RoomAccess> GetAccessAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        var found = await _rooms.GetAsync(room, cancellationToken).ConfigureAwait(false);
        var membership = await _store.Memberships.FindAsync(found.Name, user.UserId, cancellationToken).ConfigureAwait(false);
        var access = new RoomAccess(user, found, membership);
        return access.IsInvisible ? throw RoomAccessRules.RoomNotFound(room.Value) : access;
    }

    /// <summary>Decides an operation with ChitChat's rules (<see cref="RoomAccessRules.Check"/>) at the current time.</summary>
    /// <param name="access">The user's standing.</param>
    /// <param name="operation">The operation.</param>
    /// <returns>The error to report, or <see langword="null"/> when allowed.</returns>
    public ChatException? Check(RoomAccess access, RoomOperation operation) => RoomAccessRules.Check(access, operation, _time.GetUtcNow());

    /// <summary>Reads a user's standing and throws unless ChitChat's rules allow <paramref name="operation"/>.</summary>
    /// <param name="user">The user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="operation">The operation.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user's standing.</returns>
    /// <exception cref="ChatException">The rule's error (<see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.Forbidden"/>, ...).</exception>
    public async Task<RoomAccess> DemandAsync(ChatIdentity user, RoomName room, RoomOperation operation, CancellationToken cancellationToken = default)
    {
        var access = await GetAccessAsync(user, room, cancellationToken).ConfigureAwait(false);
        return Check(access, operation) is { } error ? throw error : access;
    }

    /// <summary>
    /// The check every send makes (<see cref="Messaging.MessageSender"/>): the user must see the room, not be banned or muted;
    /// sending to a public room the user has not joined makes them a member.
    /// </summary>
    /// <param name="user">The sender.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when the user may send.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> or <see cref="ChatErrorCodes.Forbidden"/>.</exception>
    public async Task EnsureCanSendAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        var access = await DemandAsync(user, room, RoomOperation.Send, cancellationToken).ConfigureAwait(false);
        if (!access.IsMember)
        {
            await JoinAsync(user, room, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Joins a room: a public room makes the user a member (a no-op when they are one); a private or direct room must already count them as a member.</summary>
    /// <param name="user">The user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The user's membership.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> or <see cref="ChatErrorCodes.Forbidden"/> (banned).</exception>
    public Task<RoomMembership> JoinAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        return ApplyAsync(room, async (stored, now) =>
        {
            var current = await _store.Memberships.FindAsync(stored.Name, user.UserId, cancellationToken).ConfigureAwait(false);
            Throw(RoomAccessRules.Check(new RoomAccess(user, stored, current), RoomOperation.Join, now));
            if (current is { IsMember: true })
            {
                return Plan.Unchanged(current);
            }

            var joined = Admit(stored.Name, user.UserId, user.UserName, current, now);
            return Plan.Of(joined, joined, new MembershipChanged(stored.Name, user.UserId, user.UserName, joined.Role, MemberChange.Added, joined.MutedUntil));
        }, cancellationToken);
    }

    /// <summary>
    /// Adds a member: yourself into a public room (the same as <see cref="JoinAsync"/>), or anyone into a public or private
    /// room as its owner or moderator. Adding an existing member returns their membership unchanged.
    /// </summary>
    /// <param name="actor">The acting user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The user to add.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The membership and whether it is new.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.UserNotFound"/>,
    /// <see cref="ChatErrorCodes.Forbidden"/> (not a moderator, the target is banned, a direct room) or <see cref="ChatErrorCodes.ValidationFailed"/>.</exception>
    public async Task<(RoomMembership Member, bool Created)> AddMemberAsync(ChatIdentity actor, RoomName room, string? userName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await GetAccessAsync(actor, room, cancellationToken).ConfigureAwait(false);
        var target = await FindUserAsync(userName, cancellationToken).ConfigureAwait(false);
        var created = false;
        var member = await ApplyAsync(room, async (stored, now) =>
        {
            created = false;
            var mine = await _store.Memberships.FindAsync(stored.Name, actor.UserId, cancellationToken).ConfigureAwait(false);
            var access = new RoomAccess(actor, stored, mine);
            var theirs = target.Id == actor.UserId ? mine : await _store.Memberships.FindAsync(stored.Name, target.Id, cancellationToken).ConfigureAwait(false);
            if (target.Id == actor.UserId)
            {
                Throw(RoomAccessRules.Check(access, RoomOperation.Join, now));
            }
            else
            {
                Throw(RoomAccessRules.Check(access, RoomOperation.AddMember, now));
            }

            if (theirs is { IsMember: true })
            {
                return Plan.Unchanged(theirs);
            }

            if (theirs is not null && theirs.IsBannedAt(now))
            {
                throw new ChatException(ChatErrorCodes.Forbidden, $"The user '{target.UserName}' is banned from this room; lift the ban first.");
            }

            created = true;
            var added = Admit(stored.Name, target.Id, target.UserName, theirs, now);
            return Plan.Of(added, added, new MembershipChanged(stored.Name, target.Id, target.UserName, added.Role, MemberChange.Added, added.MutedUntil));
        }, cancellationToken).ConfigureAwait(false);
        return (member, created);
    }

    /// <summary>Removes a member (owner or moderator), or leaves the room when <paramref name="userName"/> is the actor. The last owner cannot leave.</summary>
    /// <param name="actor">The acting user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The member to remove (the actor's own name to leave).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when removed.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.UserNotFound"/>,
    /// <see cref="ChatErrorCodes.Forbidden"/> or <see cref="ChatErrorCodes.ValidationFailed"/> (the last owner).</exception>
    public async Task RemoveMemberAsync(ChatIdentity actor, RoomName room, string? userName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await GetAccessAsync(actor, room, cancellationToken).ConfigureAwait(false);
        var target = await FindUserAsync(userName, cancellationToken).ConfigureAwait(false);
        await ApplyAsync(room, async (stored, now) =>
        {
            var mine = await _store.Memberships.FindAsync(stored.Name, actor.UserId, cancellationToken).ConfigureAwait(false);
            var access = new RoomAccess(actor, stored, mine);
            if (target.Id == actor.UserId)
            {
                Throw(RoomAccessRules.Check(access, RoomOperation.Leave, now));
                if (mine!.Role == MemberRole.Owner && await CountOwnersAsync(stored.Name, cancellationToken).ConfigureAwait(false) <= 1)
                {
                    throw ChatException.Validation("userName", "The last owner cannot leave the room; make another member an owner first.");
                }

                var left = mine.Next(now, m => m with { State = MembershipState.Left, Role = MemberRole.Member });
                return Plan.Of(left, left, new MembershipChanged(stored.Name, actor.UserId, actor.UserName, MemberRole.Member, MemberChange.Removed, Reason: "left"));
            }

            Throw(RoomAccessRules.Check(access, RoomOperation.Moderate, now));
            var theirs = await FindMemberAsync(stored.Name, target, cancellationToken).ConfigureAwait(false);
            Throw(RoomAccessRules.CheckModerationTarget(mine!.Role, theirs));
            var removed = theirs.Next(now, m => m with { State = MembershipState.Removed, Role = MemberRole.Member });
            return Plan.Of(removed, removed, new MembershipChanged(stored.Name, target.Id, target.UserName, MemberRole.Member, MemberChange.Removed, Reason: "removed"));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Changes a member's role (owner only) and/or mute (owner or moderator), in one atomic step: either both apply or
    /// neither. The last owner cannot be demoted; nobody can raise their own role.
    /// </summary>
    /// <param name="actor">The acting user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The member.</param>
    /// <param name="update">The change.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The member's new membership.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.UserNotFound"/>,
    /// <see cref="ChatErrorCodes.Forbidden"/> or <see cref="ChatErrorCodes.ValidationFailed"/>.</exception>
    public async Task<RoomMembership> UpdateMemberAsync(ChatIdentity actor, RoomName room, string? userName, MemberUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        ArgumentNullException.ThrowIfNull(update);
        await GetAccessAsync(actor, room, cancellationToken).ConfigureAwait(false);
        if (update.Role is null && !update.SetMute)
        {
            throw ChatException.Validation("body", "Give a role, a mutedUntil, or both.");
        }

        if (update.SetMute && update.MutedUntil is { } until && until <= _time.GetUtcNow())
        {
            throw ChatException.Validation("mutedUntil", "mutedUntil must be in the future (null lifts a mute).");
        }

        var target = await FindUserAsync(userName, cancellationToken).ConfigureAwait(false);
        return await ApplyAsync(room, async (stored, now) =>
        {
            var mine = await _store.Memberships.FindAsync(stored.Name, actor.UserId, cancellationToken).ConfigureAwait(false);
            var access = new RoomAccess(actor, stored, mine);
            if (update.Role is not null)
            {
                Throw(RoomAccessRules.Check(access, RoomOperation.ManageRoles, now));
            }

            if (update.SetMute)
            {
                Throw(RoomAccessRules.Check(access, RoomOperation.Moderate, now));
            }

            var theirs = target.Id == actor.UserId ? mine! : await FindMemberAsync(stored.Name, target, cancellationToken).ConfigureAwait(false);
            if (!theirs.IsMember)
            {
                throw RoomAccessRules.UserNotFound(target.UserName);
            }

            var events = new List<MembershipChanged>(2);
            var next = theirs;
            if (update.Role is { } role && role != theirs.Role)
            {
                if (target.Id == actor.UserId && role > theirs.Role)
                {
                    throw new ChatException(ChatErrorCodes.Forbidden, "Nobody can raise their own role.");
                }

                if (theirs.Role == MemberRole.Owner && await CountOwnersAsync(stored.Name, cancellationToken).ConfigureAwait(false) <= 1)
                {
                    throw ChatException.Validation("role", "The last owner cannot be demoted; make another member an owner first.");
                }

                next = next with { Role = role };
                events.Add(new MembershipChanged(stored.Name, target.Id, target.UserName, role, MemberChange.Role, next.MutedUntil));
            }

            if (update.SetMute)
            {
                if (target.Id != actor.UserId)
                {
                    Throw(RoomAccessRules.CheckModerationTarget(mine!.Role, theirs));
                }

                if (next.MutedUntil != update.MutedUntil)
                {
                    next = next with { MutedUntil = update.MutedUntil };
                    events.Add(new MembershipChanged(stored.Name, target.Id, target.UserName, next.Role, MemberChange.Muted, update.MutedUntil));
                }
            }

            if (events.Count == 0)
            {
                return Plan.Unchanged(theirs);
            }

            var written = theirs.Next(now, _ => next);
            return new Plan<RoomMembership>(written, [written], events);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Bans a user (owner or moderator): removes them if a member, and bars them from rejoining until <paramref name="until"/> (forever when <see langword="null"/>).</summary>
    /// <param name="actor">The acting user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The user to ban: a member, or any existing user (so that someone who left cannot come back).</param>
    /// <param name="until">When the ban ends, or <see langword="null"/> for a permanent ban.</param>
    /// <param name="reason">The reason, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The ban (the user's membership in state <see cref="MembershipState.Banned"/>).</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.UserNotFound"/>,
    /// <see cref="ChatErrorCodes.Forbidden"/> or <see cref="ChatErrorCodes.ValidationFailed"/>.</exception>
    public async Task<RoomMembership> BanAsync(ChatIdentity actor, RoomName room, string? userName, DateTimeOffset? until, string? reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await GetAccessAsync(actor, room, cancellationToken).ConfigureAwait(false);
        if (until is { } end && end <= _time.GetUtcNow())
        {
            throw ChatException.Validation("until", "until must be in the future (omit it for a permanent ban).");
        }

        if (reason is not null && reason.Length > _options.MaxBanReasonLength)
        {
            throw ChatException.Validation("reason", $"A reason is at most {_options.MaxBanReasonLength} characters.");
        }

        var target = await FindUserAsync(userName, cancellationToken).ConfigureAwait(false);
        return await ApplyAsync(room, async (stored, now) =>
        {
            var mine = await _store.Memberships.FindAsync(stored.Name, actor.UserId, cancellationToken).ConfigureAwait(false);
            Throw(RoomAccessRules.Check(new RoomAccess(actor, stored, mine), RoomOperation.Moderate, now));
            if (target.Id == actor.UserId)
            {
                throw ChatException.Validation("userName", "You cannot ban yourself.");
            }

            var theirs = await _store.Memberships.FindAsync(stored.Name, target.Id, cancellationToken).ConfigureAwait(false);
            if (theirs is not null)
            {
                Throw(RoomAccessRules.CheckModerationTarget(mine!.Role, theirs));
            }

            var banned = theirs is null
                ? new RoomMembership(stored.Name, target.Id, target.UserName, MembershipState.Banned, MemberRole.Member, null, until, reason, now, 1)
                : theirs.Next(now, m => m with { UserName = target.UserName, State = MembershipState.Banned, Role = MemberRole.Member, BannedUntil = until, BanReason = reason });
            return Plan.Of(banned, banned, new MembershipChanged(stored.Name, target.Id, target.UserName, MemberRole.Member, MemberChange.Banned, banned.MutedUntil, reason));
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lifts a ban (owner or moderator): the user may join or be added again, and is not a member until then.</summary>
    /// <param name="actor">The acting user.</param>
    /// <param name="room">The room name.</param>
    /// <param name="userName">The banned user.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>A task that completes when lifted.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/>, <see cref="ChatErrorCodes.UserNotFound"/> (unknown or not banned) or <see cref="ChatErrorCodes.Forbidden"/>.</exception>
    public async Task UnbanAsync(ChatIdentity actor, RoomName room, string? userName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(room);
        await GetAccessAsync(actor, room, cancellationToken).ConfigureAwait(false);
        var target = await FindUserAsync(userName, cancellationToken).ConfigureAwait(false);
        await ApplyAsync(room, async (stored, now) =>
        {
            var mine = await _store.Memberships.FindAsync(stored.Name, actor.UserId, cancellationToken).ConfigureAwait(false);
            Throw(RoomAccessRules.Check(new RoomAccess(actor, stored, mine), RoomOperation.Moderate, now));
            var theirs = await _store.Memberships.FindAsync(stored.Name, target.Id, cancellationToken).ConfigureAwait(false);
            if (theirs is null || !theirs.IsBannedAt(now))
            {
                throw new ChatException(ChatErrorCodes.UserNotFound, $"The user '{target.UserName}' is not banned from this room.");
            }

            var lifted = theirs.Next(now, m => m with { State = MembershipState.Removed, BannedUntil = null, BanReason = null });
            // Nothing to publish: the user was not a member before and is not one after (ban lists are read on request), and a
            // "removed" member event would tell the room something that did not happen.
            return new Plan<RoomMembership>(lifted, [lifted], []);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists a room's members (anyone who may read the room).</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The members: owners, moderators, members, each by name.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> or <see cref="ChatErrorCodes.Forbidden"/>.</exception>
    public async Task<IReadOnlyList<RoomMembership>> ListMembersAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        await DemandAsync(user, room, RoomOperation.Read, cancellationToken).ConfigureAwait(false);
        return await _store.Memberships.ListMembersAsync(room.Value, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the bans in force (owner or moderator).</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The bans, by user name.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> or <see cref="ChatErrorCodes.Forbidden"/>.</exception>
    public async Task<IReadOnlyList<RoomMembership>> ListBansAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        await DemandAsync(user, room, RoomOperation.Moderate, cancellationToken).ConfigureAwait(false);
        return await _store.Memberships.ListBansAsync(room.Value, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Gets a room as the caller may see it, read from the store (not the cache: its topic and member count are current).</summary>
    /// <param name="user">The caller.</param>
    /// <param name="room">The room name.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room with its last sequence number, member count and the caller's membership.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.RoomNotFound"/> or <see cref="ChatErrorCodes.Forbidden"/> (banned from a public room).</exception>
    public async Task<RoomListEntry> GetRoomAsync(ChatIdentity user, RoomName room, CancellationToken cancellationToken = default)
    {
        var access = await DemandAsync(user, room, RoomOperation.Read, cancellationToken).ConfigureAwait(false);
        var stored = await _store.Rooms.FindByNameAsync(room.Value, cancellationToken).ConfigureAwait(false) ?? access.Room;
        var lastSeq = await _store.Messages.GetLastSeqAsync(room.Value, cancellationToken).ConfigureAwait(false);
        var count = await _store.Memberships.CountMembersAsync(room.Value, cancellationToken).ConfigureAwait(false);
        return new RoomListEntry(stored, access.IsMember ? access.Membership : null, lastSeq, count);
    }

    /// <summary>The caller's room list: public rooms, and the private and direct rooms the caller is a member of.</summary>
    /// <param name="user">The caller.</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The rooms by name.</returns>
    public Task<IReadOnlyList<RoomListEntry>> ListRoomsAsync(ChatIdentity user, CancellationToken cancellationToken = default) =>
        _store.Rooms.ListForUserAsync(user.UserId, cancellationToken);

    /// <summary>
    /// Gets the direct room of the caller and <paramref name="userNames"/> (2 to <see cref="ChitChatOptions.MaxDirectMembers"/>
    /// people), creating it on first use. The same set of people always gets the same room
    /// (<see cref="ChatRoom.DirectRoomName"/>), also when several nodes create it at once: the store's unique name lets one
    /// create win, and the others read the winner's room.
    /// </summary>
    /// <param name="actor">The caller (always a member).</param>
    /// <param name="userNames">The other people (the caller's own name and repetitions are allowed and ignored).</param>
    /// <param name="cancellationToken">The token to monitor for cancellation requests.</param>
    /// <returns>The room and whether this call created it.</returns>
    /// <exception cref="ChatException"><see cref="ChatErrorCodes.ValidationFailed"/> or <see cref="ChatErrorCodes.UserNotFound"/>.</exception>
    public async Task<(ChatRoom Room, bool Created)> GetOrCreateDirectAsync(ChatIdentity actor, IReadOnlyList<string?>? userNames, CancellationToken cancellationToken = default)
    {
        if (userNames is null || userNames.Count == 0)
        {
            throw ChatException.Validation("userNames", "Name at least one other user.");
        }

        if (userNames.Count > _options.MaxDirectMembers * 4)
        {
            throw ChatException.Validation("userNames", $"A direct room has at most {_options.MaxDirectMembers} people.");
        }

        var people = new Dictionary<Guid, string> { [actor.UserId] = actor.UserName };
        foreach (var name in userNames)
        {
            var user = await FindUserAsync(name, cancellationToken).ConfigureAwait(false);
            people.TryAdd(user.Id, user.UserName);
        }

        if (people.Count < 2)
        {
            throw ChatException.Validation("userNames", "A direct room has at least two people: name someone other than yourself.");
        }

        if (people.Count > _options.MaxDirectMembers)
        {
            throw ChatException.Validation("userNames", $"A direct room has at most {_options.MaxDirectMembers} people (the caller included).");
        }

        var name2 = ChatRoom.DirectRoomName(people.Keys);
        var existing = await _store.Rooms.FindByNameAsync(name2, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return (existing, false);
        }

        var now = _time.GetUtcNow();
        var room = new ChatRoom(Guid.CreateVersion7(now), name2, actor.UserId, now, 1) { Kind = RoomKind.Direct };
        var members = people.Select(p => RoomMembership.Join(name2, p.Key, p.Value, MemberRole.Member, now)).ToArray();
        if (!await _store.Rooms.TryCreateWithMembersAsync(room, members, cancellationToken).ConfigureAwait(false))
        {
            // Another node (or request) created it first: the same set of people, so the same room.
            var winner = await _store.Rooms.FindByNameAsync(name2, cancellationToken).ConfigureAwait(false)
                ?? throw new ChatStoreUnavailableException($"The direct room '{name2}' was created concurrently but cannot be read yet.", TimeSpan.FromSeconds(1));
            return (winner, false);
        }

        LogDirectRoomCreated(name2, people.Count);
        foreach (var member in members)
        {
            await PublishAsync(new MembershipChanged(name2, member.UserId, member.UserName, MemberRole.Member, MemberChange.Added)).ConfigureAwait(false);
        }

        return (room, true);
    }

    private static RoomMembership Admit(string room, Guid userId, string userName, RoomMembership? previous, DateTimeOffset now) =>
        previous is null
            ? RoomMembership.Join(room, userId, userName, MemberRole.Member, now)
            : previous.Next(now, m => m with { UserName = userName, State = MembershipState.Member, Role = MemberRole.Member, BannedUntil = null, BanReason = null });

    private static void Throw(ChatException? error)
    {
        if (error is not null)
        {
            throw error;
        }
    }

    private async Task<ChatUser> FindUserAsync(string? userName, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(userName))
        {
            throw ChatException.Validation("userName", "A user name is required.");
        }

        if (userName.Length > 256)
        {
            throw RoomAccessRules.UserNotFound(userName[..256]);
        }

        return await _store.Users.FindByNameAsync(userName, cancellationToken).ConfigureAwait(false)
            ?? throw RoomAccessRules.UserNotFound(userName);
    }

    private async Task<RoomMembership> FindMemberAsync(string room, ChatUser user, CancellationToken cancellationToken)
    {
        var membership = await _store.Memberships.FindAsync(room, user.Id, cancellationToken).ConfigureAwait(false);
        return membership is { IsMember: true } ? membership : throw RoomAccessRules.UserNotFound(user.UserName);
    }

    private async Task<int> CountOwnersAsync(string room, CancellationToken cancellationToken)
    {
        var members = await _store.Memberships.ListMembersAsync(room, cancellationToken).ConfigureAwait(false);
        return members.Count(m => m.Role == MemberRole.Owner);
    }

    /// <summary>The compare-and-set loop: read the room from the store, decide (reading memberships), apply; on a conflict, again.</summary>
    private async Task<T> ApplyAsync<T>(RoomName room, Func<ChatRoom, DateTimeOffset, Task<Plan<T>>> decide, CancellationToken cancellationToken)
    {
        for (var attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            var stored = await _store.Rooms.FindByNameAsync(room.Value, cancellationToken).ConfigureAwait(false)
                ?? throw RoomAccessRules.RoomNotFound(room.Value);
            Plan<T> plan;
            try
            {
                plan = await decide(stored, _time.GetUtcNow()).ConfigureAwait(false);
            }
            catch (ChatException) when (attempt < MaxAttempts)
            {
                // A refusal decided on reads that a concurrent change overtook (e.g. "the last owner" counted after the other
                // owner's demotion of the actor committed) is decided again on a consistent view; otherwise it stands.
                if (!await ChangedSinceAsync(stored, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }

                LogMembershipConflict(stored.Name, attempt);
                continue;
            }

            if (plan.Writes.Count == 0)
            {
                return plan.Result;
            }

            if (await _store.Memberships.TryApplyAsync(stored.Name, stored.MembershipVersion, plan.Writes, cancellationToken).ConfigureAwait(false))
            {
                foreach (var change in plan.Events)
                {
                    LogMembershipChanged(change.Room, change.UserId, change.Change);
                    await PublishAsync(change).ConfigureAwait(false);
                }

                return plan.Result;
            }

            LogMembershipConflict(stored.Name, attempt);
        }

        throw new ChatException(ChatErrorCodes.Unavailable, $"The members of room '{room}' are changing too fast; try again.", retryAfter: TimeSpan.FromSeconds(1));
    }

    private async Task<bool> ChangedSinceAsync(ChatRoom read, CancellationToken cancellationToken)
    {
        var now = await _store.Rooms.FindByNameAsync(read.Name, cancellationToken).ConfigureAwait(false);
        return now is null || now.MembershipVersion != read.MembershipVersion;
    }

    private async Task PublishAsync(MembershipChanged change)
    {
        try
        {
            // Committed: published even when the caller has gone away.
            await _transport.PublishAsync(change, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogPublishFailed(change.Room, ex);
        }
    }

    [LoggerMessage(EventId = 1300, EventName = "MembershipChanged", Level = LogLevel.Information, Message = "Membership of user {UserId} in room {Room} changed: {Change}.")]
    private partial void LogMembershipChanged(string room, Guid userId, MemberChange change);

    [LoggerMessage(EventId = 1301, EventName = "MembershipConflict", Level = LogLevel.Debug, Message = "A concurrent membership change of room {Room} won; deciding again (attempt {Attempt}).")]
    private partial void LogMembershipConflict(string room, int attempt);

    [LoggerMessage(EventId = 1302, EventName = "DirectRoomCreated", Level = LogLevel.Information, Message = "Direct room {Room} created for {Count} people.")]
    private partial void LogDirectRoomCreated(string room, int count);

    [LoggerMessage(EventId = 1303, EventName = "MembershipPublishFailed", Level = LogLevel.Warning, Message = "Publishing a membership change of room {Room} failed; the change is stored.")]
    private partial void LogPublishFailed(string room, Exception exception);

    private readonly record struct Plan<T>(T Result, IReadOnlyList<RoomMembership> Writes, IReadOnlyList<MembershipChanged> Events);

    private static class Plan
    {
        public static Plan<RoomMembership> Unchanged(RoomMembership current) => new(current, [], []);

        public static Plan<RoomMembership> Of(RoomMembership result, RoomMembership write, MembershipChanged change) => new(result, [write], [change]);
    }
}

/// <summary>A change of a member (<see cref="MembershipService.UpdateMemberAsync"/>): the role, the mute, or both.</summary>
/// <param name="Role">The new role, or <see langword="null"/> to keep it.</param>
/// <param name="SetMute">Whether to set the mute to <paramref name="MutedUntil"/>.</param>
/// <param name="MutedUntil">With <paramref name="SetMute"/>: until when the member is muted; <see langword="null"/> lifts a mute.</param>
public sealed record MemberUpdate(MemberRole? Role, bool SetMute, DateTimeOffset? MutedUntil);
