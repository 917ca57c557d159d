using System.Reflection;
using System.Runtime.Serialization;
using System.Text.Json;
using ChitChat.Contracts;

namespace ChitChat.Contracts.Tests;

/// <summary>
/// JSON names come from the camelCase naming policy, MessagePack keys from <see cref="DataMemberAttribute.Name"/>: the two
/// must agree for every hub type, or a MessagePack client would read different fields than a JSON one.
/// </summary>
public sealed class WireNameTests
{
    public static TheoryData<Type> ContractTypes() => new(typeof(MessageDto).Assembly.GetExportedTypes().Where(t => t.IsClass && !t.IsAbstract));

    /// <summary>Every type the hub sends or returns (the ones a MessagePack client decodes).</summary>
    private static readonly Type[] HubTypes = [typeof(MessageDto), typeof(JoinRoomResult), typeof(SendMessageAck), typeof(PresenceUser), typeof(PresenceEvent), typeof(TypingEvent),
        typeof(MessageUpdatedEvent), typeof(RoomEventDto), typeof(ReactionDto), typeof(ReadEvent), typeof(MentionEvent), typeof(MemberEvent), typeof(RemovedEvent)];

    [Fact]
    public void Every_type_the_hub_sends_is_a_data_contract()
    {
        foreach (var type in HubTypes)
        {
            Assert.True(type.GetCustomAttribute<DataContractAttribute>() is not null, $"{type.Name} travels over the hub but has no [DataContract]: MessagePack would key it by PascalCase names");
        }
    }

    [Theory]
    [MemberData(nameof(ContractTypes))]
    public void Data_member_names_are_the_camelCase_JSON_names(Type type)
    {
        if (type.GetCustomAttribute<DataContractAttribute>() is null)
        {
            Assert.DoesNotContain(type.GetProperties(), p => p.GetCustomAttribute<DataMemberAttribute>() is not null);
            return;
        }

        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.Name != "EqualityContract"))
        {
            var member = property.GetCustomAttribute<DataMemberAttribute>();
            Assert.True(member is not null, $"{type.Name}.{property.Name} has no [DataMember]: MessagePack would skip it");
            Assert.Equal(JsonNamingPolicy.CamelCase.ConvertName(property.Name), member.Name);
        }
    }

    [Fact]
    public void A_message_serializes_to_the_protocols_JSON_shape()
    {
        var message = new MessageDto(Guid.Parse("0193a1b2-0000-7000-8000-000000000001"), "global", 42, Guid.Parse("0193a1b2-0000-7000-8000-000000000002"), "alice", "hi", new DateTime(2026, 11, 23, 21, 0, 0, DateTimeKind.Utc), "c-123");
        var json = JsonSerializer.Serialize(message, JsonSerializerOptions.Web);
        Assert.Equal("""{"id":"0193a1b2-0000-7000-8000-000000000001","room":"global","seq":42,"authorId":"0193a1b2-0000-7000-8000-000000000002","authorName":"alice","text":"hi","sentAt":"2026-11-23T21:00:00Z","clientMessageId":"c-123","editedAt":null,"deleted":false,"replyTo":null,"threadRoot":null,"replyCount":0,"reactions":[],"mentions":[]}""", json);
        Assert.Equal(message, JsonSerializer.Deserialize<MessageDto>(json, JsonSerializerOptions.Web));
    }

    [Fact]
    public void A_version_2_message_serializes_its_lifecycle_fields()
    {
        var author = Guid.Parse("0193a1b2-0000-7000-8000-000000000002");
        var root = Guid.Parse("0193a1b2-0000-7000-8000-000000000003");
        var message = new MessageDto(Guid.Parse("0193a1b2-0000-7000-8000-000000000001"), "global", 42, author, "alice", "hi @bob", new DateTime(2026, 11, 23, 21, 0, 0, DateTimeKind.Utc), null)
        {
            EditedAt = new DateTime(2026, 11, 23, 21, 5, 0, DateTimeKind.Utc),
            ReplyTo = root,
            ThreadRoot = root,
            Reactions = [new ReactionDto("👍", 1, [author])],
            Mentions = [author],
        };
        var json = JsonSerializer.Serialize(new MessageUpdatedEvent("global", 43, MessageChanges.Edited, message), JsonSerializerOptions.Web);
        Assert.Equal("""{"room":"global","seq":43,"change":"edited","message":{"id":"0193a1b2-0000-7000-8000-000000000001","room":"global","seq":42,"authorId":"0193a1b2-0000-7000-8000-000000000002","authorName":"alice","text":"hi @bob","sentAt":"2026-11-23T21:00:00Z","clientMessageId":null,"editedAt":"2026-11-23T21:05:00Z","deleted":false,"replyTo":"0193a1b2-0000-7000-8000-000000000003","threadRoot":"0193a1b2-0000-7000-8000-000000000003","replyCount":0,"reactions":[{"emoji":"\uD83D\uDC4D","count":1,"userIds":["0193a1b2-0000-7000-8000-000000000002"]}],"mentions":["0193a1b2-0000-7000-8000-000000000002"]}}""", json);
        Assert.Equal(message, JsonSerializer.Deserialize<MessageUpdatedEvent>(json, JsonSerializerOptions.Web)!.Message);
    }
}
