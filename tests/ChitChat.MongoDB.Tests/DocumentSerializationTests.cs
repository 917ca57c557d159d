using ChitChat.Storage;
using ChitChat.MongoDB;
using MongoDB.Bson;
using MongoDB.Bson.Serialization;

namespace ChitChat.MongoDB.Tests;

/// <summary>Every stored document type round-trips through its BSON serializer with fixed element names.</summary>
public sealed class DocumentSerializationTests
{
    private static readonly Guid UserId = Guid.Parse("0192f0c4-9a1b-7c3d-8e4f-a1b2c3d4e5f6");
    private static readonly DateTimeOffset SubMillisecond = new DateTimeOffset(2026, 11, 25, 3, 4, 5, TimeSpan.Zero).AddTicks(1_234_567); // .1234567 s

    private static T RoundTrip<T>(T document, out BsonDocument bson)
    {
        bson = document.ToBsonDocument();
        var bytes = document.ToBson();
        return BsonSerializer.Deserialize<T>(bytes);
    }

    [Fact]
    public void User_round_trips_with_unicode_null_optionals_and_exact_timestamps()
    {
        var user = new ChatUser(UserId, "Zoë_Ünïcødé", null, "Ørsted 😀", "pbkdf2-sha256$600000$c2FsdA==$aGFzaA==", SubMillisecond, SubMillisecond.AddDays(1), 3);
        var changedAt = SubMillisecond.AddTicks(9_999);

        var back = RoundTrip(UserDocument.From(user, 42, changedAt), out var bson);

        Assert.Equal(user, back.ToModel());
        var change = back.ToChange();
        Assert.Equal(42, change.Position);
        Assert.Equal(changedAt, change.ChangedAt);
        Assert.Equal(user, change.User);

        var id = bson["_id"].AsBsonBinaryData;
        Assert.Equal(BsonBinarySubType.UuidStandard, id.SubType);
        Assert.Equal(UserId, id.ToGuid(GuidRepresentation.Standard));
        Assert.Equal("ZOË_ÜNÏCØDÉ", bson["name_norm"].AsString);
        Assert.Equal(BsonType.Null, bson["first"].BsonType);
        Assert.Equal(BsonType.DateTime, bson["created"].BsonType);
        Assert.Equal(new DateTime(2026, 11, 25, 3, 4, 5, 123, DateTimeKind.Utc), bson["created"].ToUniversalTime());
        Assert.Equal(4_567L, bson["created_x"].AsInt64);
        Assert.Equal(
            ["_id", "name", "name_norm", "first", "last", "pwd", "created", "created_x", "updated", "updated_x", "v", "pos", "changed", "changed_x"],
            bson.Names.ToArray());
    }

    [Fact]
    public void Room_round_trips_with_and_without_creator()
    {
        var system = new ChatRoom(Guid.CreateVersion7(), "global", null, SubMillisecond, 1);
        var byUser = system with { Id = Guid.CreateVersion7(), Name = "dev-ops_2", CreatedBy = UserId, Version = 7 };

        var backSystem = RoundTrip(RoomDocument.From(system, 1, SubMillisecond), out var systemBson);
        var backUser = RoundTrip(RoomDocument.From(byUser, 2, SubMillisecond), out var userBson);

        Assert.Equal(system, backSystem.ToModel());
        Assert.Equal(byUser, backUser.ToModel());
        Assert.Equal(BsonType.Null, systemBson["by"].BsonType);
        Assert.Equal(BsonBinarySubType.UuidStandard, userBson["by"].AsBsonBinaryData.SubType);
        Assert.Equal(UserId, userBson["by"].AsBsonBinaryData.ToGuid(GuidRepresentation.Standard));
        Assert.Equal(["_id", "name", "by", "created", "created_x", "v", "kind", "mv", "pos", "changed", "changed_x"], userBson.Names.ToArray());
    }

    [Fact]
    public void Room_kind_topic_and_membership_version_round_trip_and_documents_without_them_read_as_public()
    {
        var room = new ChatRoom(Guid.CreateVersion7(), "secret", UserId, SubMillisecond, 4) { Kind = RoomKind.Private, Topic = "Plans ✓", MembershipVersion = 3 };
        var back = RoundTrip(RoomDocument.From(room, 5, SubMillisecond), out var bson);
        Assert.Equal(room, back.ToModel());
        Assert.Equal((1, "Plans ✓", 3L), (bson["kind"].AsInt32, bson["topic"].AsString, bson["mv"].AsInt64));
        Assert.False(bson.Contains("mpend"));

        // A room stored by an earlier version: no kind, topic or mv.
        var old = RoomDocument.From(room, 5, SubMillisecond).ToBsonDocument();
        old.Remove("kind");
        old.Remove("topic");
        old.Remove("mv");
        var model = BsonSerializer.Deserialize<RoomDocument>(old).ToModel();
        Assert.Equal((RoomKind.Public, (string?)null, 0L), (model.Kind, model.Topic, model.MembershipVersion));
    }

    [Fact]
    public void Membership_round_trips_with_exact_optional_times_and_fixed_element_names()
    {
        var banned = new RoomMembership("secret", UserId, "Zoë 😀", MembershipState.Banned, MemberRole.Moderator, SubMillisecond.AddHours(1), SubMillisecond.AddDays(2), "spam — ✗", SubMillisecond, 6);
        var back = RoundTrip(MembershipDocument.From(banned, 9, SubMillisecond), out var bson);
        Assert.Equal(banned, back.ToModel());
        Assert.Equal(banned, back.ToChange().Membership);
        Assert.Equal(DocumentKind.Membership, back.ToChange().Kind);
        Assert.Equal(RoomMembership.IdFor("secret", UserId), bson["_id"].AsBsonBinaryData.ToGuid(GuidRepresentation.Standard));
        Assert.Equal(BsonBinarySubType.UuidStandard, bson["uid"].AsBsonBinaryData.SubType);
        Assert.Equal(
            ["_id", "room", "uid", "uname", "state", "role", "muted", "muted_x", "banned", "banned_x", "reason", "updated", "updated_x", "v", "pos", "changed", "changed_x"],
            bson.Names.ToArray());

        var member = RoomMembership.Join("secret", UserId, "zoë", MemberRole.Member, SubMillisecond);
        var plain = RoundTrip(MembershipDocument.From(member, 10, SubMillisecond), out var plainBson);
        Assert.Equal(member, plain.ToModel());
        Assert.Equal(BsonType.Null, plainBson["banned"].BsonType); // stored as null: {banned: null} finds permanent bans
        Assert.False(plainBson.Contains("muted"));
        Assert.False(plainBson.Contains("reason"));
    }

    [Fact]
    public void Message_round_trips_byte_exact_text_and_omits_a_missing_idempotency_key()
    {
        const string text = "Grüße, 世界! 👩🏽‍💻 עברית\r\n\ttab \u0000 nul, \uFE0F and combining e\u0301";
        var withKey = new ChatMessage(Guid.CreateVersion7(), "global", 12, UserId, "zoë", text, SubMillisecond, "client-key-1", 1);
        var withoutKey = withKey with { Id = Guid.CreateVersion7(), Seq = 13, ClientMessageId = null };

        var backWith = RoundTrip(MessageDocument.From(withKey, 99, SubMillisecond), out var withBson);
        var backWithout = RoundTrip(MessageDocument.From(withoutKey, 100, SubMillisecond), out var withoutBson);

        Assert.Equal(withKey, backWith.ToModel());
        Assert.Equal(withoutKey, backWithout.ToModel());
        Assert.Equal(text, backWith.Text);
        Assert.Equal("client-key-1", withBson["cmid"].AsString);
        Assert.False(withoutBson.Contains("cmid"), "A message without an idempotency key must not store the element (the partial unique index relies on it).");
        Assert.Equal(BsonBinarySubType.UuidStandard, withBson["author_id"].AsBsonBinaryData.SubType);
        Assert.Equal(12L, withBson["seq"].AsInt64);
        Assert.Equal(99L, withBson["pos"].AsInt64);
        Assert.Equal(
            ["_id", "room", "seq", "author_id", "author", "text", "sent", "sent_x", "cmid", "v", "seqs", "pos", "changed", "changed_x"],
            withBson.Names.ToArray());
    }

    [Fact]
    public void Message_origin_is_stored_as_origin_and_omitted_when_native()
    {
        var native = new ChatMessage(Guid.CreateVersion7(), "global", 3, UserId, "zoë", "hi", SubMillisecond, "k", 2);
        var legacy = native with { Id = Guid.CreateVersion7(), Seq = 4, Origin = MessageOrigins.Legacy };

        var backLegacy = RoundTrip(MessageDocument.From(legacy, 7, SubMillisecond), out var legacyBson);
        var backNative = RoundTrip(MessageDocument.From(native, 8, SubMillisecond), out var nativeBson);

        Assert.Equal(legacy, backLegacy.ToModel());
        Assert.Equal(MessageOrigins.Legacy, backLegacy.ToChange().Message!.Origin);
        Assert.Equal("legacy", legacyBson["origin"].AsString);
        Assert.Equal(
            ["_id", "room", "seq", "author_id", "author", "text", "sent", "sent_x", "cmid", "v", "origin", "seqs", "pos", "changed", "changed_x"],
            legacyBson.Names.ToArray());
        Assert.Equal(native, backNative.ToModel());
        Assert.Null(backNative.ToModel().Origin);
        Assert.False(nativeBson.Contains("origin"), "A native message must not store an origin element.");

        // A document written before the field existed reads as a native message.
        nativeBson.Remove("origin");
        Assert.Null(BsonSerializer.Deserialize<MessageDocument>(nativeBson).ToModel().Origin);
    }

    [Fact]
    public void Checkpoint_and_counter_round_trip()
    {
        var (date, extra) = Time.Split(SubMillisecond);
        var checkpoint = new CheckpointDocument { SourceId = "primary", Position = 1234, FencingToken = 7, UpdatedAt = date, UpdatedAtExtra = extra };
        var counter = new CounterDocument { Id = "changes", Value = 10, Pending = [new PendingReservation { First = 9, ReservedAt = date }] };

        var backCheckpoint = RoundTrip(checkpoint, out var checkpointBson);
        var backCounter = RoundTrip(counter, out var counterBson);

        Assert.Equal(new ReplicaCheckpoint("primary", 1234, 7, SubMillisecond), backCheckpoint.ToModel());
        Assert.Equal(BsonDocument.Parse("{ _id: 'primary', pos: NumberLong(1234), fence: NumberLong(7), updated: ISODate('2026-11-25T03:04:05.123Z'), updated_x: NumberLong(4567) }"), checkpointBson);
        Assert.Equal(10, backCounter.Value);
        Assert.Equal(9, Assert.Single(backCounter.Pending!).First);
        Assert.Equal(BsonDocument.Parse("{ _id: 'changes', v: NumberLong(10), pending: [ { p: NumberLong(9), t: ISODate('2026-11-25T03:04:05.123Z') } ] }"), counterBson);
    }

    [Fact]
    public void Unknown_elements_written_by_a_newer_version_are_ignored()
    {
        var bson = MessageDocument.From(new ChatMessage(Guid.CreateVersion7(), "r", 1, UserId, "a", "t", SubMillisecond, null, 1), 1, SubMillisecond).ToBsonDocument();
        bson.Add("future_field", "x");

        var back = BsonSerializer.Deserialize<MessageDocument>(bson);

        Assert.Equal("t", back.Text);
    }

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(9_999L)]
    [InlineData(637_000_000_000_000_001L)]
    public void Time_split_and_join_is_exact(long ticks)
    {
        var value = new DateTimeOffset(DateTime.UnixEpoch.Ticks + ticks % 3_000_000_000_000_000L, TimeSpan.Zero);

        var (date, extra) = Time.Split(value);

        Assert.Equal(DateTimeKind.Utc, date.Kind);
        Assert.Equal(0, date.Ticks % TimeSpan.TicksPerMillisecond);
        Assert.InRange(extra, 0, 9_999);
        Assert.Equal(value, Time.Join(date, extra));
    }

    [Fact]
    public void Time_split_converts_offsets_to_utc()
    {
        var local = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromHours(5)).AddTicks(42);

        var (date, extra) = Time.Split(local);

        Assert.Equal(new DateTime(2026, 1, 1, 22, 4, 5, DateTimeKind.Utc), date);
        Assert.Equal(42, extra);
        Assert.Equal(local.ToUniversalTime(), Time.Join(date, extra));
        Assert.Equal(TimeSpan.Zero, Time.Join(date, extra).Offset);
    }
}
