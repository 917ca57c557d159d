using ChitChat.Contracts;

namespace ChitChat.Core.Tests;

public sealed class RoomTests
{
    [Fact]
    public async Task A_room_name_is_case_insensitive_and_stored_lower_case()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        var room = await h.CreateRoomAsync("Dev-Ops_2", alice).Timed();

        Assert.Equal("dev-ops_2", room.Name);
        Assert.Equal(alice.UserId, room.CreatedBy);
        Assert.Equal(1, room.Version);
        Assert.Equal(room, await h.Store.Rooms.FindByNameAsync("dev-ops_2").Timed());
        Assert.Equal(room, await h.Rooms.GetAsync(RoomName.Parse("DEV-OPS_2")).Timed());
        Assert.Equal(["dev-ops_2", "global"], (await h.Rooms.ListAsync().Timed()).Select(r => r.Name));
    }

    [Theory]
    [InlineData("lobby")]
    [InlineData("LOBBY")]
    [InlineData("Lobby")]
    public async Task A_taken_name_in_any_case_is_room_exists(string again)
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var lobby = await h.CreateRoomAsync("lobby", alice).Timed();

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomExists, () => h.CreateRoomAsync(again, alice));

        Assert.Equal(lobby, await h.Store.Rooms.FindByNameAsync("lobby").Timed());
        Assert.Equal(2, (await h.Rooms.ListAsync().Timed()).Count);
    }

    [Fact]
    public async Task The_default_room_exists_and_cannot_be_created_again()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomExists, () => h.CreateRoomAsync("Global", alice));
    }

    public static TheoryData<string?> InvalidNames => new(new string?[]
    {
        null,
        "",
        " ",
        "has space",
        "a/b",
        "dot.ted",
        "ünïcode",
        "emoji-\U0001F600",
        new string('a', 65),
        "room\n",
        "room\r\n",
        "\nroom",
        "tab\t",
    });

    [Theory]
    [MemberData(nameof(InvalidNames))]
    public async Task An_invalid_room_name_is_validation_failed_and_creates_nothing(string? name)
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");

        var ex = await Wait.ChatErrorAsync(ChatErrorCodes.ValidationFailed, () => h.CreateRoomAsync(name, alice));

        Assert.Equal(["name"], ex.Errors!.Keys);
        Assert.Equal(["global"], (await h.Rooms.ListAsync().Timed()).Select(r => r.Name));
    }

    [Fact]
    public async Task A_name_of_64_characters_is_allowed()
    {
        await using var h = await ChatHarness.CreateAsync();
        var alice = await h.UserAsync("alice");
        var name = new string('a', 32) + new string('9', 31) + "_";

        var room = await h.CreateRoomAsync(name, alice).Timed();

        Assert.Equal(64, room.Name.Length);
    }

    [Fact]
    public async Task An_unknown_room_is_room_not_found()
    {
        await using var h = await ChatHarness.CreateAsync();

        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.Rooms.GetAsync(RoomName.Parse("nowhere")));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.History.GetHistoryAsync(RoomName.Parse("nowhere"), new HistoryQuery()));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.History.CatchUpAsync(RoomName.Parse("nowhere"), null));
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.Presence.GetOnlineAsync(RoomName.Parse("nowhere")));
    }

    [Fact]
    public async Task A_room_created_in_the_store_by_another_node_is_found()
    {
        await using var h = await ChatHarness.CreateAsync();
        await Wait.ChatErrorAsync(ChatErrorCodes.RoomNotFound, () => h.Rooms.GetAsync(RoomName.Parse("late")));

        var late = new ChatRoom(Guid.CreateVersion7(), "late", null, DateTimeOffset.UtcNow, 1);
        Assert.True(await h.Store.Rooms.TryCreateAsync(late).Timed());

        Assert.Equal(late, await h.Rooms.GetAsync(RoomName.Parse("late")).Timed());
    }

    [Fact]
    public async Task The_default_room_is_created_once_however_often_it_is_ensured()
    {
        await using var h = await ChatHarness.CreateAsync(o => o.DefaultRoom = "lobby");

        var first = await h.Rooms.EnsureDefaultRoomAsync().Timed();
        var second = await h.Rooms.EnsureDefaultRoomAsync().Timed();
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => h.Rooms.EnsureDefaultRoomAsync()))).Timed();

        Assert.Equal("lobby", first.Name);
        Assert.Null(first.CreatedBy);
        Assert.Equal(first, second);
        Assert.All(concurrent, r => Assert.Equal(first, r));
        Assert.Equal([first], await h.Rooms.ListAsync().Timed());
    }

    [Theory]
    [InlineData("GLOBAL", "global")]
    [InlineData("a-b_c", "a-b_c")]
    [InlineData("X", "x")]
    public void RoomName_Parse_lower_cases_valid_names(string given, string expected) =>
        Assert.Equal(expected, RoomName.Parse(given).Value);

    [Fact]
    public void RoomName_Parse_reports_the_given_field()
    {
        var ex = Assert.Throws<ChatException>(() => RoomName.Parse("bad name", "chatroom"));

        Assert.Equal(ChatErrorCodes.ValidationFailed, ex.Code);
        Assert.Equal(["chatroom"], ex.Errors!.Keys);
    }
}
