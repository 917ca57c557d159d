using ChitChat.Storage;
using MongoDB.Bson;
using MongoDB.Driver;

namespace ChitChat.MongoDB;

/// <summary>Rooms with members, memberships and the user directory (see the class remarks for the compare-and-set).</summary>
public sealed partial class MongoChatStore
{
    Task<IReadOnlyList<ChatUser>> IUserStore.SearchByNamePrefixAsync(string prefix, int limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var filter = MongoDefinitions.UsersWithNamePrefix(ChatUser.Normalize(prefix));
        return RunAsync<IReadOnlyList<ChatUser>>("search users", async ct =>
        {
            var docs = await _users.Find(filter).Sort(MongoDefinitions.NormalizedNameAscending).Limit(limit).ToListAsync(ct).ConfigureAwait(false);
            return docs.ConvertAll(d => d.ToModel());
        }, cancellationToken);
    }

    Task<bool> IRoomStore.TryCreateWithMembersAsync(ChatRoom room, IReadOnlyList<RoomMembership> members, CancellationToken cancellationToken)
    {
        StoreArguments.CheckInitialMembers(room, members);
        var now = _time.GetUtcNow();
        var pending = members.Count == 0 ? null : members.Select(m => MembershipDocument.From(m, 0, now)).ToList();
        return RunAsync("create room", async ct =>
        {
            ct.ThrowIfCancellationRequested();
            var position = await ReservePositionsAsync(1).ConfigureAwait(false);
            try
            {
                var document = RoomDocument.From(room, position, now);
                document.PendingMemberships = pending;
                await _rooms.InsertOneAsync(document, null, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsDuplicateKey(ex))
            {
                return false; // the name (or id) is taken: the loser wrote nothing, its members included
            }
            finally
            {
                await ReleasePositionsAsync(position).ConfigureAwait(false);
            }

            if (pending is not null)
            {
                await SettleAsync(room.Id, room.MembershipVersion, pending).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken);
    }

    Task<bool> IRoomStore.TryUpdateAsync(ChatRoom room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync("update room", async ct =>
        {
            ct.ThrowIfCancellationRequested();
            var position = await ReservePositionsAsync(1).ConfigureAwait(false);
            try
            {
                var result = await _rooms.ReplaceOneAsync(MongoDefinitions.RoomAtVersion(room), RoomDocument.From(room, position, _time.GetUtcNow()), new ReplaceOptions(), CancellationToken.None).ConfigureAwait(false);
                return result.MatchedCount > 0;
            }
            finally
            {
                await ReleasePositionsAsync(position).ConfigureAwait(false);
            }
        }, cancellationToken);
    }

    Task<IReadOnlyList<RoomListEntry>> IRoomStore.ListForUserAsync(Guid userId, CancellationToken cancellationToken) =>
        RunAsync<IReadOnlyList<RoomListEntry>>("list rooms of user", async ct =>
        {
            var mine = (await _membershipsPrimary.Find(MongoDefinitions.MembershipsOfUser(userId, MembershipState.Member)).ToListAsync(ct).ConfigureAwait(false))
                .ToDictionary(m => m.Room, m => m.ToModel(), StringComparer.Ordinal);
            var rooms = await _roomsPrimary.Find(MongoDefinitions.PublicRooms).Sort(MongoDefinitions.RoomNameAscending).ToListAsync(ct).ConfigureAwait(false);
            var publicNames = rooms.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            var others = mine.Keys.Where(n => !publicNames.Contains(n)).ToArray();
            if (others.Length > 0)
            {
                rooms.AddRange(await _roomsPrimary.Find(MongoDefinitions.RoomsByName(others)).ToListAsync(ct).ConfigureAwait(false));
            }

            rooms.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            var names = rooms.Select(r => r.Name).ToArray();
            var counts = new Dictionary<string, long>(StringComparer.Ordinal);
            if (names.Length > 0)
            {
                var pipeline = PipelineDefinition<MembershipDocument, BsonDocument>.Create(MongoDefinitions.MemberCountsPipeline(names));
                using var cursor = await _membershipsPrimary.AggregateAsync(pipeline, null, ct).ConfigureAwait(false);
                foreach (var group in await cursor.ToListAsync(ct).ConfigureAwait(false))
                {
                    counts[group["_id"].AsString] = group["n"].ToInt64();
                }
            }

            // One indexed top-1 read per room (ux_room_seq), never a scan of a room's history.
            var lastSeqs = await Task.WhenAll(names.Select(n => LastSeqAsync(n, ct))).ConfigureAwait(false);

            // Read state of the member rooms only: a public room the user has not joined shows 0 read, 0 unread, 0 mentions.
            var states = await ReadStatesAsync(userId, mine.Keys.Where(names.Contains).ToArray(), ct).ConfigureAwait(false);
            return rooms.Select((r, i) =>
            {
                var state = states.GetValueOrDefault(r.Name);
                return new RoomListEntry(r.ToModel(), mine.GetValueOrDefault(r.Name), lastSeqs[i], counts.GetValueOrDefault(r.Name))
                {
                    ReadSeq = state.Read,
                    Unread = state.Unread,
                    Mentions = state.Mentions,
                };
            }).ToArray();
        }, cancellationToken);

    Task<RoomMembership?> IMembershipStore.FindAsync(string room, Guid userId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync("find membership", async ct =>
        {
            await SettledRoomAsync(room, ct).ConfigureAwait(false);
            var doc = await _membershipsPrimary.Find(MongoDefinitions.IdEquals<MembershipDocument>(RoomMembership.IdFor(room, userId))).FirstOrDefaultAsync(ct).ConfigureAwait(false);
            return doc?.ToModel();
        }, cancellationToken);
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync<IReadOnlyList<RoomMembership>>("list members", async ct =>
        {
            await SettledRoomAsync(room, ct).ConfigureAwait(false);
            var docs = await _membershipsPrimary.Find(MongoDefinitions.MembershipsInRoom(room, MembershipState.Member)).Sort(MongoDefinitions.MembersOrder).ToListAsync(ct).ConfigureAwait(false);
            return docs.ConvertAll(d => d.ToModel());
        }, cancellationToken);
    }

    Task<IReadOnlyList<RoomMembership>> IMembershipStore.ListBansAsync(string room, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync<IReadOnlyList<RoomMembership>>("list bans", async ct =>
        {
            await SettledRoomAsync(room, ct).ConfigureAwait(false);
            var docs = await _membershipsPrimary.Find(MongoDefinitions.BansInForce(room, now)).Sort(MongoDefinitions.NameThenUser).ToListAsync(ct).ConfigureAwait(false);
            return docs.Select(d => d.ToModel()).Where(m => m.IsBannedAt(now)).ToArray(); // the filter is millisecond-exact; ticks decide here
        }, cancellationToken);
    }

    Task<long> IMembershipStore.CountMembersAsync(string room, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(room);
        return RunAsync("count members", async ct =>
        {
            await SettledRoomAsync(room, ct).ConfigureAwait(false);
            return await _membershipsPrimary.CountDocumentsAsync(MongoDefinitions.MembershipsInRoom(room, MembershipState.Member), null, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    Task<bool> IMembershipStore.TryApplyAsync(string room, long expectedMembershipVersion, IReadOnlyList<RoomMembership> writes, CancellationToken cancellationToken)
    {
        StoreArguments.CheckMembershipWrites(room, writes);
        var copy = writes.ToArray();
        return RunAsync("apply membership change", async ct =>
        {
            var current = await SettledRoomAsync(room, ct).ConfigureAwait(false);
            if (current is null || current.MembershipVersion != expectedMembershipVersion)
            {
                return false;
            }

            var ids = new BsonArray(copy.Select(w => MongoDefinitions.StoredGuid(w.Id)));
            var stored = (await _membershipsPrimary.Find(Builders<MembershipDocument>.Filter.In(Fields.Id, ids)).ToListAsync(ct).ConfigureAwait(false))
                .ToDictionary(d => d.UserId, d => d.Version);
            foreach (var write in copy)
            {
                // A newer stored version than the room's version allowed for can only come with a newer mv, which the
                // compare-and-set below then refuses; the check here refuses a write that could never be right.
                StoreArguments.CheckNewerThanStored(write, stored.TryGetValue(write.UserId, out var v) ? v : null);
            }

            ct.ThrowIfCancellationRequested();
            var now = _time.GetUtcNow();
            var pending = copy.Select(w => MembershipDocument.From(w, 0, now)).ToList();
            var position = await ReservePositionsAsync(1).ConfigureAwait(false);
            try
            {
                var result = await _roomsPrimary.UpdateOneAsync(
                    MongoDefinitions.RoomAtMembershipVersion(room, expectedMembershipVersion),
                    MongoDefinitions.BeginMembershipChange(expectedMembershipVersion, pending, position, now),
                    null,
                    CancellationToken.None).ConfigureAwait(false);
                if (result.ModifiedCount == 0)
                {
                    return false;
                }
            }
            finally
            {
                await ReleasePositionsAsync(position).ConfigureAwait(false);
            }

            await SettleAsync(current.Id, expectedMembershipVersion + 1, pending).ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <summary>Reads a room from the primary and settles a membership change it finds pending (see the class remarks).</summary>
    private async Task<RoomDocument?> SettledRoomAsync(string room, CancellationToken cancellationToken)
    {
        var document = await _roomsPrimary.Find(MongoDefinitions.RoomByName(room)).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
        if (document?.PendingMemberships is { } pending)
        {
            await SettleAsync(document.Id, document.MembershipVersion, pending).ConfigureAwait(false);
            document.PendingMemberships = null;
        }

        return document;
    }

    /// <summary>Stores a room's pending membership writes (idempotent, last writer wins by version) at fresh change positions,
    /// then drops the log if the room is still at that membership version. Runs without the caller's token: a settle that
    /// started finishes.</summary>
    private async Task SettleAsync(Guid roomId, long membershipVersion, List<MembershipDocument> pending)
    {
        if (pending.Count > 0)
        {
            var first = await ReservePositionsAsync(pending.Count).ConfigureAwait(false);
            try
            {
                var now = _time.GetUtcNow();
                for (var i = 0; i < pending.Count; i++)
                {
                    var position = first + i;
                    await UpsertAsync(
                        _membershipsPrimary,
                        pending[i].ToModel(),
                        m => m.Id,
                        m => m.Version,
                        m => MembershipDocument.From(m, position, now),
                        MongoDefinitions.NoOtherMemberships,
                        DocumentKind.Membership).ConfigureAwait(false);
                }
            }
            finally
            {
                await ReleasePositionsAsync(first).ConfigureAwait(false);
            }
        }

        await _roomsPrimary.UpdateOneAsync(MongoDefinitions.RoomSettling(roomId, membershipVersion), MongoDefinitions.EndMembershipChange, null, CancellationToken.None).ConfigureAwait(false);
    }
}
