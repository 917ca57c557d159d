using ChitChat.Contracts;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using MessagePack;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.AspNetCore.Tests;

public sealed class MessagePackTests(SharedServer shared)
{
    [Fact]
    public async Task A_MessagePack_client_and_a_JSON_client_share_a_room_with_the_same_camelCase_shapes()
    {
        var server = shared.Server;
        var alice = await server.NewUserAsync();
        var room = await server.NewRoomAsync(alice);
        await using var json = await alice.ConnectAsync();
        await json.JoinAsync(room, 0);

        await using var packed = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/chat"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.AccessTokenProvider = () => Task.FromResult<string?>(alice.Token);
            })
            .AddMessagePackProtocol()
            .Build();
        var received = new TaskCompletionSource<MessageDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        packed.On<MessageDto>("message", m => received.TrySetResult(m));
        await packed.StartAsync().WaitAsync(Timeouts.Default);
        var join = await packed.InvokeAsync<JoinRoomResult>("JoinRoom", room, 0L).WaitAsync(Timeouts.Default);
        Assert.Equal(room, join.Room);

        var ack = await json.SendAsync(room, "über msgpack", "mp-1");
        var message = await received.Task.WaitAsync(Timeouts.Default);
        Assert.Equal((ack.Id, ack.Seq, alice.Id, alice.UserName, "über msgpack", "mp-1"), (message.Id, message.Seq, message.AuthorId, message.AuthorName, message.Text, message.ClientMessageId));

        var packedAck = await packed.InvokeAsync<SendMessageAck>("SendMessage", room, "from msgpack", "mp-2").WaitAsync(Timeouts.Default);
        Assert.Equal(ack.Seq + 1, packedAck.Seq);
        await json.WaitUntilAsync(c => c.Messages(room).Any(m => m.Seq == packedAck.Seq && m.Text == "from msgpack"), "the JSON client receives the MessagePack client's message");
    }

    [Fact]
    public void The_shared_contracts_pack_with_the_protocols_camelCase_keys_under_SignalRs_default_resolver()
    {
        var options = new MessagePackHubProtocolOptions().SerializerOptions;
        var message = new MessageDto(Guid.NewGuid(), "r", 7, Guid.NewGuid(), "alice", "hi", DateTime.UtcNow, "c-1");
        var json = MessagePackSerializer.ConvertToJson(MessagePackSerializer.Serialize(new JoinRoomResult("r", 7, [message], HasMore: false), options));
        foreach (var key in new[] { "\"room\"", "\"lastSeq\"", "\"missed\"", "\"hasMore\"", "\"id\"", "\"seq\"", "\"authorId\"", "\"authorName\"", "\"text\"", "\"sentAt\"", "\"clientMessageId\"" })
        {
            Assert.Contains(key, json, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("\"AuthorId\"", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_2_members_round_trip_through_MessagePack_with_camelCase_keys()
    {
        var options = new MessagePackHubProtocolOptions().SerializerOptions;
        var user = Guid.NewGuid();
        var message = new MessageDto(Guid.NewGuid(), "r", 7, user, "alice", "hi @bob", new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc), null)
        {
            EditedAt = new DateTime(2026, 12, 1, 0, 1, 0, DateTimeKind.Utc),
            ReplyTo = Guid.NewGuid(),
            ThreadRoot = Guid.NewGuid(),
            ReplyCount = 2,
            Reactions = [new ReactionDto("👍", 1, [user])],
            Mentions = [user],
        };
        var join = new JoinRoomResult("r", 8, [], HasMore: false) { Updates = [new MessageUpdatedEvent("r", 8, MessageChanges.Edited, message)] };
        var bytes = MessagePackSerializer.Serialize(join, options);
        var json = MessagePackSerializer.ConvertToJson(bytes);
        foreach (var key in new[] { "\"updates\"", "\"change\"", "\"editedAt\"", "\"deleted\"", "\"replyTo\"", "\"threadRoot\"", "\"replyCount\"", "\"reactions\"", "\"emoji\"", "\"count\"", "\"userIds\"", "\"mentions\"" })
        {
            Assert.Contains(key, json, StringComparison.Ordinal);
        }

        var back = MessagePackSerializer.Deserialize<JoinRoomResult>(bytes, options);
        Assert.Equal(message, Assert.Single(back.Updates).Message);
    }
}
