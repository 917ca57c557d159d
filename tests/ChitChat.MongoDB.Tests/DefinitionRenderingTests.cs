using ChitChat.MongoDB;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;
using MongoDB.Driver;

namespace ChitChat.MongoDB.Tests;

/// <summary>The filters, updates and indexes the store sends render to the intended shell syntax (rendered offline by the driver).</summary>
public sealed class DefinitionRenderingTests
{
    private static readonly Guid Id = Guid.Parse("0192f0c4-9a1b-7c3d-8e4f-a1b2c3d4e5f6");
    private const string IdJson = "UUID('0192f0c4-9a1b-7c3d-8e4f-a1b2c3d4e5f6')";

    private static RenderArgs<T> Args<T>() => new(BsonSerializer.LookupSerializer<T>(), BsonSerializer.SerializerRegistry);

    private static BsonDocument Render<T>(FilterDefinition<T> filter) => filter.Render(Args<T>());

    private static BsonValue Render<T>(UpdateDefinition<T> update) => update.Render(Args<T>());

    private static BsonDocument Render<T>(SortDefinition<T> sort) => sort.Render(Args<T>());

    private static BsonDocument Render<T>(IndexKeysDefinition<T> keys) => keys.Render(Args<T>());

    [Fact]
    public void User_and_room_lookups_use_the_unique_keys()
    {
        Assert.Equal(BsonDocument.Parse("{ name_norm: 'ZOË' }"), Render(MongoDefinitions.UserByNormalizedName("ZOË")));
        Assert.Equal(BsonDocument.Parse("{ name: 'global' }"), Render(MongoDefinitions.RoomByName("global")));
        Assert.Equal(BsonDocument.Parse($"{{ _id: {IdJson} }}"), Render(MongoDefinitions.IdEquals<UserDocument>(Id)));
    }

    [Fact]
    public void History_pages_filter_by_room_and_seq_bounds()
    {
        Assert.Equal(BsonDocument.Parse("{ room: 'global' }"), Render(MongoDefinitions.MessagePage("global", null, null)));
        Assert.Equal(BsonDocument.Parse("{ room: 'global', seq: { $gt: NumberLong(10) } }"), Render(MongoDefinitions.MessagePage("global", 10, null)));
        Assert.Equal(BsonDocument.Parse("{ room: 'global', seq: { $lt: NumberLong(20) } }"), Render(MongoDefinitions.MessagePage("global", null, 20)));
        Assert.Equal(BsonDocument.Parse("{ room: 'global', seq: { $gt: NumberLong(10), $lt: NumberLong(20) } }"), Render(MongoDefinitions.MessagePage("global", 10, 20)));
        Assert.Equal(BsonDocument.Parse("{ seq: 1 }"), Render(MongoDefinitions.SeqAscending));
        Assert.Equal(BsonDocument.Parse("{ seq: -1 }"), Render(MongoDefinitions.SeqDescending));
        Assert.Equal(BsonDocument.Parse("{ room: 1, seq: 1 }"), Render(MongoDefinitions.RoomThenSeq));
        Assert.Equal(BsonDocument.Parse("{ room: 'global', cmid: 'k1' }"), Render(MongoDefinitions.MessageByClientId("global", "k1")));
    }

    [Fact]
    public void Change_feed_reads_a_position_range_in_order()
    {
        Assert.Equal(
            BsonDocument.Parse("{ pos: { $gt: NumberLong(5), $lte: NumberLong(17) } }"),
            Render(MongoDefinitions.PositionRange<MessageDocument>(5, 17)));
        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(MongoDefinitions.PositionAscending<UserDocument>()));
        Assert.Equal(BsonDocument.Parse("{ pos: -1 }"), Render(MongoDefinitions.PositionDescending<RoomDocument>()));
        Assert.Equal(BsonDocument.Parse("{ _id: 'changes' }"), Render(MongoDefinitions.ChangesCounter));
    }

    [Fact]
    public void Reservation_is_one_pipeline_update_that_prunes_expired_entries_and_records_the_block()
    {
        var rendered = Render(MongoDefinitions.ReservePositions(3, TimeSpan.FromMinutes(2)));

        var expected = BsonArray.Create(new[]
        {
            BsonDocument.Parse("""
                { $set: { pending: { $concatArrays: [
                    { $filter: { input: { $ifNull: ['$pending', []] }, cond: { $gt: ['$$this.t', { $subtract: ['$$NOW', NumberLong(120000)] }] } } },
                    [ { p: { $add: [ { $ifNull: ['$v', NumberLong(0)] }, NumberLong(1) ] }, t: '$$NOW' } ]
                ] } } }
                """),
            BsonDocument.Parse("{ $set: { v: { $add: [ { $ifNull: ['$v', NumberLong(0)] }, NumberLong(3) ] } } }"),
        });
        Assert.Equal(expected, rendered);
    }

    [Fact]
    public void Release_pulls_the_reservation_and_the_counter_is_created_once()
    {
        Assert.Equal(BsonDocument.Parse("{ $pull: { pending: { p: NumberLong(41) } } }"), Render(MongoDefinitions.ReleasePositions(41)));
        Assert.Equal(BsonDocument.Parse("{ $setOnInsert: { v: NumberLong(0) } }"), Render(MongoDefinitions.CreateCounter));
    }

    [Fact]
    public void Watermark_pipeline_takes_the_lowest_live_pending_reservation()
    {
        var stages = new BsonArray(MongoDefinitions.WatermarkPipeline(TimeSpan.FromSeconds(30)));

        var expected = BsonArray.Create(new[]
        {
            BsonDocument.Parse("{ $match: { _id: 'changes' } }"),
            BsonDocument.Parse("""
                { $project: { v: 1, low: { $min: { $map: {
                    input: { $filter: { input: { $ifNull: ['$pending', []] }, cond: { $gt: ['$$this.t', { $subtract: ['$$NOW', NumberLong(30000)] }] } } },
                    in: '$$this.p' } } } } }
                """),
        });
        Assert.Equal(expected, stages);
    }

    [Fact]
    public void Watermark_pipeline_renders_as_an_aggregation_with_a_document_output()
    {
        var pipeline = PipelineDefinition<CounterDocument, BsonDocument>.Create(MongoDefinitions.WatermarkPipeline(TimeSpan.FromSeconds(30)));

        var rendered = pipeline.Render(Args<CounterDocument>());

        Assert.Equal(2, rendered.Documents.Count);
        Assert.NotNull(rendered.OutputSerializer);
        Assert.Equal(typeof(BsonDocument), rendered.OutputSerializer.ValueType);
    }

    [Fact]
    public void Replication_upserts_are_conditional_on_an_older_version()
    {
        Assert.Equal(
            BsonDocument.Parse($"{{ _id: {IdJson}, v: {{ $lt: NumberLong(4) }} }}"),
            Render(MongoDefinitions.OlderVersion<MessageDocument>(Id, 4)));
        Assert.Equal(
            BsonDocument.Parse($"{{ name_norm: 'ZOË', _id: {{ $ne: {IdJson} }} }}"),
            Render(MongoDefinitions.OtherUsersWithName(Id, "ZOË")));
        Assert.Equal(
            BsonDocument.Parse($"{{ name: 'dev', _id: {{ $ne: {IdJson} }} }}"),
            Render(MongoDefinitions.OtherRoomsWithName(Id, "dev")));
        Assert.Equal(
            BsonDocument.Parse($"{{ room: 'dev', _id: {{ $ne: {IdJson} }}, $or: [ {{ seq: NumberLong(3) }}, {{ seqs: NumberLong(3) }}, {{ cmid: 'k' }} ] }}"),
            Render(MongoDefinitions.OtherMessagesInSlot(Id, "dev", 3, "k")));
        Assert.Equal(
            BsonDocument.Parse($"{{ room: 'dev', _id: {{ $ne: {IdJson} }}, $or: [ {{ seq: NumberLong(3) }}, {{ seqs: NumberLong(3) }} ] }}"),
            Render(MongoDefinitions.OtherMessagesInSlot(Id, "dev", 3, null)));
    }

    [Fact]
    public void Checkpoint_write_is_fenced_and_keeps_the_position_when_none_is_given()
    {
        var now = new DateTimeOffset(2026, 11, 25, 3, 0, 0, TimeSpan.Zero).AddTicks(5);

        Assert.Equal(BsonDocument.Parse("{ _id: 'primary', fence: { $lte: NumberLong(9) } }"), Render(MongoDefinitions.CheckpointWritableBy("primary", 9)));
        Assert.Equal(
            BsonDocument.Parse("{ $set: { fence: NumberLong(9), updated: ISODate('2026-11-25T03:00:00Z'), updated_x: NumberLong(5), pos: NumberLong(120) } }"),
            Render(MongoDefinitions.WriteCheckpoint(9, 120, now)));
        Assert.Equal(
            BsonDocument.Parse("{ $set: { fence: NumberLong(9), updated: ISODate('2026-11-25T03:00:00Z'), updated_x: NumberLong(5) }, $setOnInsert: { pos: NumberLong(0) } }"),
            Render(MongoDefinitions.WriteCheckpoint(9, null, now)));
    }

    [Fact]
    public void User_indexes_are_unique_on_the_normalized_name_and_cover_the_change_feed()
    {
        var indexes = MongoDefinitions.UserIndexes().ToArray();

        Assert.Equal(2, indexes.Length);
        Assert.Equal(BsonDocument.Parse("{ name_norm: 1 }"), Render(indexes[0].Keys));
        Assert.Equal("ux_name_norm", indexes[0].Options.Name);
        Assert.True(indexes[0].Options.Unique);
        Assert.Null(indexes[0].Options.Collation);
        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(indexes[1].Keys));
        Assert.NotEqual(true, indexes[1].Options.Unique);
    }

    [Fact]
    public void Room_indexes_are_unique_on_the_name()
    {
        var indexes = MongoDefinitions.RoomIndexes().ToArray();

        Assert.Equal(BsonDocument.Parse("{ name: 1 }"), Render(indexes[0].Keys));
        Assert.True(indexes[0].Options.Unique);
        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(indexes[1].Keys));
        Assert.Equal(BsonDocument.Parse("{ kind: 1, name: 1 }"), Render(indexes[2].Keys));
        Assert.Equal("ix_kind_name", indexes[2].Options.Name);
    }

    [Fact]
    public void Membership_indexes_serve_members_in_order_a_users_rooms_and_the_change_feed()
    {
        var indexes = MongoDefinitions.MembershipIndexes().ToArray();

        Assert.Equal(3, indexes.Length);
        Assert.Equal(BsonDocument.Parse("{ room: 1, state: 1, role: -1, uname: 1 }"), Render(indexes[0].Keys));
        Assert.Equal(BsonDocument.Parse("{ uid: 1, state: 1 }"), Render(indexes[1].Keys));
        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(indexes[2].Keys));
        Assert.All(indexes, i => Assert.NotEqual(true, i.Options.Unique));

        // The member list's sort follows the index after its equality prefix (room, state), so it needs no in-memory sort.
        Assert.Equal(BsonDocument.Parse("{ room: 'club', state: 0 }"), Render(MongoDefinitions.MembershipsInRoom("club", MembershipState.Member)));
        Assert.Equal(BsonDocument.Parse("{ role: -1, uname: 1, uid: 1 }"), Render(MongoDefinitions.MembersOrder));
        Assert.Equal(BsonDocument.Parse($"{{ uid: {IdJson}, state: 0 }}"), Render(MongoDefinitions.MembershipsOfUser(Id, MembershipState.Member)));
        Assert.Equal(BsonDocument.Parse("{ room: 1, uid: 1 }"), Render(MongoDefinitions.RoomThenUser));
    }

    [Fact]
    public void Bans_in_force_include_permanent_ones_and_those_ending_after_now()
    {
        var now = new DateTimeOffset(2026, 11, 25, 3, 0, 0, TimeSpan.Zero).AddTicks(5);
        Assert.Equal(
            BsonDocument.Parse("{ room: 'club', state: 3, $or: [ { banned: null }, { banned: { $gte: ISODate('2026-11-25T03:00:00Z') } } ] }"),
            Render(MongoDefinitions.BansInForce("club", now)));
    }

    [Fact]
    public void The_membership_compare_and_set_is_one_conditional_update_of_the_room_document()
    {
        Assert.Equal(
            BsonDocument.Parse("{ name: 'club', mv: NumberLong(4), mpend: { $exists: false } }"),
            Render(MongoDefinitions.RoomAtMembershipVersion("club", 4)));
        Assert.Equal(
            BsonDocument.Parse("{ name: 'club', mv: { $in: [null, 0] }, mpend: { $exists: false } }"),
            Render(MongoDefinitions.RoomAtMembershipVersion("club", 0)));

        var now = new DateTimeOffset(2026, 11, 25, 3, 0, 0, TimeSpan.Zero).AddTicks(5);
        var member = MembershipDocument.From(RoomMembership.Join("club", Id, "zoë", MemberRole.Member, now), 0, now);
        var update = Render(MongoDefinitions.BeginMembershipChange(4, [member], 77, now)).AsBsonDocument;
        Assert.Equal(BsonDocument.Parse("{ v: NumberLong(1) }"), update["$inc"]);
        var set = update["$set"].AsBsonDocument;
        Assert.Equal(["mv", "mpend", "pos", "changed", "changed_x"], set.Names.ToArray());
        Assert.Equal((5L, 77L), (set["mv"].AsInt64, set["pos"].AsInt64));
        Assert.Equal("zoë", set["mpend"].AsBsonArray.Single()["uname"].AsString);

        Assert.Equal(BsonDocument.Parse($"{{ _id: {IdJson}, mv: NumberLong(5) }}"), Render(MongoDefinitions.RoomSettling(Id, 5)));
        Assert.Equal(BsonDocument.Parse("{ $unset: { mpend: 1 } }"), Render(MongoDefinitions.EndMembershipChange));
    }

    [Fact]
    public void A_topic_update_is_conditional_on_the_previous_version_and_unchanged_identity()
    {
        var room = new ChatRoom(Id, "club", null, DateTimeOffset.UnixEpoch, 3) { Kind = RoomKind.Private, MembershipVersion = 2 };
        Assert.Equal(
            BsonDocument.Parse($"{{ _id: {IdJson}, v: NumberLong(2), name: 'club', kind: NumberLong(1), mv: NumberLong(2), mpend: {{ $exists: false }} }}"),
            Render(MongoDefinitions.RoomAtVersion(room)));
    }

    [Fact]
    public void The_room_list_and_the_directory_read_ranges_of_indexes()
    {
        Assert.Equal(BsonDocument.Parse("{ kind: { $in: [null, 0] } }"), Render(MongoDefinitions.PublicRooms));
        Assert.Equal(
            new BsonDocument("name_norm", new BsonDocument { { "$gte", "ZO" }, { "$lt", "ZO" + char.ConvertFromUtf32(0x10FFFF) } }),
            Render(MongoDefinitions.UsersWithNamePrefix("ZO")));
        Assert.Equal(BsonDocument.Parse("{ name_norm: 1 }"), Render(MongoDefinitions.NormalizedNameAscending));
        Assert.Equal(
            BsonArray.Create(new[]
            {
                BsonDocument.Parse("{ $match: { room: { $in: ['a', 'b'] }, state: 0 } }"),
                BsonDocument.Parse("{ $group: { _id: '$room', n: { $sum: 1 } } }"),
            }),
            new BsonArray(MongoDefinitions.MemberCountsPipeline(["a", "b"])));
    }

    [Fact]
    public void Message_indexes_make_seq_and_idempotency_keys_unique_per_room()
    {
        var indexes = MongoDefinitions.MessageIndexes().ToArray();

        Assert.Equal(10, indexes.Length);
        Assert.Equal(BsonDocument.Parse("{ room: 1, seq: 1 }"), Render(indexes[0].Keys));
        Assert.Equal("ux_room_seq", indexes[0].Options.Name);
        Assert.True(indexes[0].Options.Unique);
        Assert.Null(indexes[0].Options.Sparse);

        Assert.Equal(BsonDocument.Parse("{ room: 1, cmid: 1 }"), Render(indexes[1].Keys));
        var cmidOptions = Assert.IsType<CreateIndexOptions<MessageDocument>>(indexes[1].Options);
        Assert.Equal("ux_room_cmid", cmidOptions.Name);
        Assert.True(cmidOptions.Unique);
        Assert.Equal(BsonDocument.Parse("{ cmid: { $exists: true } }"), Render(cmidOptions.PartialFilterExpression));

        Assert.Equal(BsonDocument.Parse("{ pos: 1 }"), Render(indexes[2].Keys));
    }
}
