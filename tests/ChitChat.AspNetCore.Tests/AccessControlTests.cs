using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using ChitChat.AspNetCore.Authorization;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.AspNetCore.Tests.MultiNode;
using ChitChat.Contracts;
using ChitChat.Membership;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace ChitChat.AspNetCore.Tests;

/// <summary>Version 2 rooms, membership and access control over HTTP and the hub, on a real server.</summary>
public sealed class AccessControlTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    private static async Task<HttpResponseMessage> SendJsonAsync(HttpClient http, HttpMethod method, string path, object? body)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        return await http.SendAsync(request).WaitAsync(Timeouts.Default);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync().WaitAsync(Timeouts.Default);
        Assert.True(status == response.StatusCode, $"expected {status}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<string> PrivateRoomAsync(TestUser owner)
    {
        var name = "priv-" + Guid.NewGuid().ToString("N")[..10];
        using var http = owner.Http();
        using var created = await SendJsonAsync(http, HttpMethod.Post, "/api/rooms", new { name, kind = "private", topic = "secret plans" });
        var room = await JsonAsync(created, HttpStatusCode.Created);
        Assert.Equal("private", room.GetProperty("kind").GetString());
        Assert.Equal("secret plans", room.GetProperty("topic").GetString());
        Assert.Equal(owner.Id, room.GetProperty("createdBy").GetGuid());
        Assert.Equal(1, room.GetProperty("memberCount").GetInt64());
        Assert.Equal(0, room.GetProperty("lastSeq").GetInt64());
        return name;
    }

    [Fact]
    public async Task A_private_room_is_indistinguishable_from_a_missing_one_for_non_members_over_http()
    {
        var alice = await Server.NewUserAsync("alice");
        var eve = await Server.NewUserAsync("eve");
        var room = await PrivateRoomAsync(alice);
        var missing = "none-" + Guid.NewGuid().ToString("N")[..10];
        using var http = eve.Http();

        var probes = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, "/api/rooms/{0}", null),
            (HttpMethod.Patch, "/api/rooms/{0}", new { topic = "mine" }),
            (HttpMethod.Get, "/api/rooms/{0}/messages", null),
            (HttpMethod.Post, "/api/rooms/{0}/messages", new { text = "hello?" }),
            (HttpMethod.Get, "/api/rooms/{0}/members", null),
            (HttpMethod.Post, "/api/rooms/{0}/members", new { userName = eve.UserName }),
            (HttpMethod.Delete, "/api/rooms/{0}/members/" + alice.UserName, null),
            (HttpMethod.Patch, "/api/rooms/{0}/members/" + alice.UserName, new { role = "member" }),
            (HttpMethod.Put, "/api/rooms/{0}/bans/" + alice.UserName, new { reason = "x" }),
            (HttpMethod.Delete, "/api/rooms/{0}/bans/" + alice.UserName, null),
            (HttpMethod.Get, "/api/rooms/{0}/bans", null),
        };
        foreach (var (method, path, body) in probes)
        {
            using var hidden = await SendJsonAsync(http, method, string.Format(path, room), body);
            using var absent = await SendJsonAsync(http, method, string.Format(path, missing), body);
            Assert.True(hidden.StatusCode == HttpStatusCode.NotFound, $"{method} {path}: {(int)hidden.StatusCode}");
            var p1 = await Problem.ReadAsync(hidden);
            var p2 = await Problem.ReadAsync(absent);
            Assert.Equal("room_not_found", p1.GetProperty("code").GetString());
            Assert.Equal(p2.GetProperty("code").GetString(), p1.GetProperty("code").GetString());
            Assert.Equal(p2.GetProperty("title").GetString(), p1.GetProperty("title").GetString());
            Assert.Equal(p2.GetProperty("detail").GetString()!.Replace(missing, room, StringComparison.Ordinal), p1.GetProperty("detail").GetString());
        }

        var list = await http.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default);
        Assert.DoesNotContain(list!, r => r.GetProperty("name").GetString() == room);

        // Nothing was stored by the probes.
        using var owner = alice.Http();
        var members = await owner.GetFromJsonAsync<JsonElement[]>($"/api/rooms/{room}/members").WaitAsync(Timeouts.Default);
        Assert.Equal([alice.UserName], members!.Select(m => m.GetProperty("userName").GetString()));
        var room2 = await owner.GetFromJsonAsync<JsonElement>($"/api/rooms/{room}").WaitAsync(Timeouts.Default);
        Assert.Equal(0, room2.GetProperty("lastSeq").GetInt64());
        Assert.Equal("secret plans", room2.GetProperty("topic").GetString());
    }

    [Fact]
    public async Task A_private_room_is_indistinguishable_from_a_missing_one_for_non_members_over_the_hub()
    {
        var alice = await Server.NewUserAsync("alice");
        var eve = await Server.NewUserAsync("eve");
        var room = await PrivateRoomAsync(alice);
        var missing = "none-" + Guid.NewGuid().ToString("N")[..10];
        await using var hub = await eve.ConnectAsync();

        var calls = new (string Method, Func<string, Task> Call)[]
        {
            ("JoinRoom", r => hub.Connection.InvokeAsync<JoinRoomResult>("JoinRoom", r, (long?)null)),
            ("SendMessage", r => hub.Connection.InvokeAsync<SendMessageAck>("SendMessage", r, "hi", (string?)null)),
            ("GetHistory", r => hub.Connection.InvokeAsync<MessageDto[]>("GetHistory", r, (long?)null, (long?)null, (int?)null)),
            ("GetPresence", r => hub.Connection.InvokeAsync<PresenceUser[]>("GetPresence", r)),
            ("Typing", r => hub.Connection.InvokeAsync("Typing", r)),
            ("LeaveRoom", r => hub.Connection.InvokeAsync("LeaveRoom", r)),
        };
        foreach (var (method, call) in calls)
        {
            var hidden = await Assert.ThrowsAsync<HubException>(() => call(room)).WaitAsync(Timeouts.Default);
            var absent = await Assert.ThrowsAsync<HubException>(() => call(missing)).WaitAsync(Timeouts.Default);
            Assert.True(HubError.Code(hidden) == "room_not_found", $"{method}: {hidden.Message}");
            Assert.Equal(HubError.Message(absent).Replace(missing, room, StringComparison.Ordinal), HubError.Message(hidden));
        }

        // The owner's typing and presence never reach eve, who is not in the room; the connection still works.
        await using var owner = await alice.ConnectAsync();
        await owner.JoinAsync(room);
        var ack = await owner.SendAsync(room, "for members only");
        Assert.Equal(1, ack.Seq);
        await hub.JoinAsync("global");
        Assert.Empty(hub.Messages(room));
        Assert.Empty(hub.Typing(room));
    }

    [Fact]
    public async Task Members_are_added_listed_promoted_muted_banned_and_each_bad_input_is_a_typed_problem()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var carol = await Server.NewUserAsync("carol");
        var room = await PrivateRoomAsync(alice);
        using var a = alice.Http();
        using var b = bob.Http();

        using (var added = await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = bob.UserName }))
        {
            var member = await JsonAsync(added, HttpStatusCode.Created);
            Assert.Equal(bob.Id, member.GetProperty("userId").GetGuid());
            Assert.Equal("member", member.GetProperty("role").GetString());
            Assert.Equal(JsonValueKind.Null, member.GetProperty("mutedUntil").ValueKind);
        }

        using (var again = await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = bob.UserName.ToUpperInvariant() }))
        {
            await JsonAsync(again, HttpStatusCode.OK);
        }

        // Bob now sees it, with his role in his list.
        var bobsList = await b.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default);
        var entry = Assert.Single(bobsList!, r => r.GetProperty("name").GetString() == room);
        Assert.Equal("member", entry.GetProperty("role").GetString());
        Assert.Equal(2, entry.GetProperty("memberCount").GetInt64());
        foreach (var field in new[] { "id", "kind", "topic", "createdAt", "createdBy", "lastSeq", "lastReadSeq", "unread", "mentions" })
        {
            Assert.True(entry.TryGetProperty(field, out _), field);
        }

        var global = Assert.Single(bobsList!, r => r.GetProperty("name").GetString() == "global");
        Assert.Equal("public", global.GetProperty("kind").GetString());

        // Bad input, each typed, nothing applied.
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = "nobody-" + Guid.NewGuid().ToString("N") }), 404, "user_not_found");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { role = "emperor" }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { mutedUntil = "tomorrow-ish" }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { mutedUntil = "2001-01-01T00:00:00Z" }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{carol.UserName}", new { role = "moderator" }), 404, "user_not_found");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { role = "moderator", mutedUntil = "nope" }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(b, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { role = "owner" }), 403, "forbidden");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Delete, $"/api/rooms/{room}/members/{alice.UserName}", null), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{alice.UserName}", new { role = "member" }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, "/api/rooms", new { name = "dm-" + Guid.NewGuid().ToString("N")[..8] }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, "/api/rooms", new { name = "k-" + Guid.NewGuid().ToString("N")[..8], kind = "secretive" }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, "/api/rooms", new { name = room }), 409, "room_exists");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Put, $"/api/rooms/{room}/bans/{bob.UserName}", new { until = "2001-01-01T00:00:00Z" }), 400, "validation_failed");
        var members = await a.GetFromJsonAsync<JsonElement[]>($"/api/rooms/{room}/members").WaitAsync(Timeouts.Default);
        Assert.Equal(["owner", "member"], members!.Select(m => m.GetProperty("role").GetString()));
        Assert.All(members!, m => Assert.Equal(JsonValueKind.Null, m.GetProperty("mutedUntil").ValueKind));

        // Promote, mute (then lift), topic by a moderator.
        var until = DateTime.UtcNow.AddHours(1);
        using (var patched = await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { role = "moderator" }))
        {
            Assert.Equal("moderator", (await JsonAsync(patched, HttpStatusCode.OK)).GetProperty("role").GetString());
        }

        using (var topic = await SendJsonAsync(b, HttpMethod.Patch, $"/api/rooms/{room}", new { topic = "new plans" }))
        {
            Assert.Equal("new plans", (await JsonAsync(topic, HttpStatusCode.OK)).GetProperty("topic").GetString());
        }

        using (var patched = await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { mutedUntil = until }))
        {
            Assert.Equal(JsonValueKind.String, (await JsonAsync(patched, HttpStatusCode.OK)).GetProperty("mutedUntil").ValueKind);
        }

        await Problem.AssertAsync(await SendJsonAsync(b, HttpMethod.Post, $"/api/rooms/{room}/messages", new { text = "muted?" }), 403, "forbidden");
        await using (var bobHub = await bob.ConnectAsync())
        {
            var muted = await Assert.ThrowsAsync<HubException>(() => bobHub.SendAsync(room, "still muted?")).WaitAsync(Timeouts.Default);
            Assert.Equal("forbidden", HubError.Code(muted));
        }

        using (var lifted = await SendJsonAsync(a, HttpMethod.Patch, $"/api/rooms/{room}/members/{bob.UserName}", new { mutedUntil = (DateTime?)null }))
        {
            var m = await JsonAsync(lifted, HttpStatusCode.OK);
            Assert.Equal(JsonValueKind.Null, m.GetProperty("mutedUntil").ValueKind);
            Assert.Equal("moderator", m.GetProperty("role").GetString());
        }

        using (var sent = await SendJsonAsync(b, HttpMethod.Post, $"/api/rooms/{room}/messages", new { text = "free" }))
        {
            await JsonAsync(sent, HttpStatusCode.Created);
        }

        // A moderator may not ban the owner; the owner bans bob, who then cannot see the private room at all.
        await Problem.AssertAsync(await SendJsonAsync(b, HttpMethod.Put, $"/api/rooms/{room}/bans/{alice.UserName}", new { reason = "coup" }), 403, "forbidden");
        using (var ban = await SendJsonAsync(a, HttpMethod.Put, $"/api/rooms/{room}/bans/{bob.UserName}", new { reason = "spam" }))
        {
            await JsonAsync(ban, HttpStatusCode.NoContent);
        }

        var bans = await a.GetFromJsonAsync<JsonElement[]>($"/api/rooms/{room}/bans").WaitAsync(Timeouts.Default);
        var only = Assert.Single(bans!);
        Assert.Equal((bob.Id, "spam"), (only.GetProperty("userId").GetGuid(), only.GetProperty("reason").GetString()));
        Assert.Equal(JsonValueKind.Null, only.GetProperty("until").ValueKind);
        await Problem.AssertAsync(await b.GetAsync($"/api/rooms/{room}/messages").WaitAsync(Timeouts.Default), 404, "room_not_found");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = bob.UserName }), 403, "forbidden");
        using (var unban = await SendJsonAsync(a, HttpMethod.Delete, $"/api/rooms/{room}/bans/{bob.UserName}", null))
        {
            await JsonAsync(unban, HttpStatusCode.NoContent);
        }

        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Delete, $"/api/rooms/{room}/bans/{bob.UserName}", null), 404, "user_not_found");
        using (var back = await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = bob.UserName }))
        {
            Assert.Equal("member", (await JsonAsync(back, HttpStatusCode.Created)).GetProperty("role").GetString());
        }

        // Leaving: bob leaves; removing him again is user_not_found.
        using (var leave = await SendJsonAsync(b, HttpMethod.Delete, $"/api/rooms/{room}/members/{bob.UserName}", null))
        {
            await JsonAsync(leave, HttpStatusCode.NoContent);
        }

        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Delete, $"/api/rooms/{room}/members/{bob.UserName}", null), 404, "user_not_found");
    }

    [Fact]
    public async Task A_banned_user_of_a_public_room_gets_forbidden_everywhere()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var room = await Server.NewRoomAsync(alice, "pub");
        using var a = alice.Http();
        using var b = bob.Http();
        using (var join = await SendJsonAsync(b, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = bob.UserName }))
        {
            await JsonAsync(join, HttpStatusCode.Created);
        }

        using (var ban = await SendJsonAsync(a, HttpMethod.Put, $"/api/rooms/{room}/bans/{bob.UserName}", null))
        {
            await JsonAsync(ban, HttpStatusCode.NoContent);
        }

        await Problem.AssertAsync(await b.GetAsync($"/api/rooms/{room}").WaitAsync(Timeouts.Default), 403, "forbidden");
        await Problem.AssertAsync(await b.GetAsync($"/api/rooms/{room}/messages").WaitAsync(Timeouts.Default), 403, "forbidden");
        await Problem.AssertAsync(await SendJsonAsync(b, HttpMethod.Post, $"/api/rooms/{room}/messages", new { text = "let me in" }), 403, "forbidden");
        await using var hub = await bob.ConnectAsync();
        var error = await Assert.ThrowsAsync<HubException>(() => hub.JoinAsync(room)).WaitAsync(Timeouts.Default);
        Assert.Equal("forbidden", HubError.Code(error));
    }

    [Fact]
    public async Task Joining_a_public_room_over_the_hub_makes_the_caller_a_member()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var room = await Server.NewRoomAsync(alice, "pub");
        using var b = bob.Http();
        var before = Assert.Single((await b.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default))!, r => r.GetProperty("name").GetString() == room);
        Assert.Equal(JsonValueKind.Null, before.GetProperty("role").ValueKind);
        Assert.Equal(0, before.GetProperty("unread").GetInt64());

        await using var hub = await bob.ConnectAsync();
        await hub.JoinAsync(room);

        var after = Assert.Single((await b.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default))!, r => r.GetProperty("name").GetString() == room);
        Assert.Equal("member", after.GetProperty("role").GetString());
        Assert.Equal(2, after.GetProperty("memberCount").GetInt64());
    }

    [Fact]
    public async Task Two_concurrent_direct_requests_for_the_same_people_get_the_same_room()
    {
        var alice = await Server.NewUserAsync("alice");
        var bob = await Server.NewUserAsync("bob");
        var carol = await Server.NewUserAsync("carol");
        using var a = alice.Http();
        using var b = bob.Http();

        var first = SendJsonAsync(a, HttpMethod.Post, "/api/direct", new { userNames = new[] { bob.UserName } });
        var second = SendJsonAsync(b, HttpMethod.Post, "/api/direct", new { userNames = new[] { alice.UserName } });
        using var r1 = await first;
        using var r2 = await second;
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.Created], new[] { r1.StatusCode, r2.StatusCode }.Order());
        var d1 = JsonDocument.Parse(await r1.Content.ReadAsStringAsync()).RootElement;
        var d2 = JsonDocument.Parse(await r2.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(d1.GetProperty("id").GetGuid(), d2.GetProperty("id").GetGuid());
        var name = d1.GetProperty("name").GetString()!;
        Assert.StartsWith("dm-", name, StringComparison.Ordinal);
        Assert.Equal("direct", d1.GetProperty("kind").GetString());
        Assert.Equal(2, d1.GetProperty("memberCount").GetInt64());

        // Carol cannot see it; its members are fixed; the room list of both members has it.
        using var c = carol.Http();
        await Problem.AssertAsync(await c.GetAsync($"/api/rooms/{name}/messages").WaitAsync(Timeouts.Default), 404, "room_not_found");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{name}/members", new { userName = carol.UserName }), 403, "forbidden");
        Assert.Contains((await b.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default))!, r => r.GetProperty("name").GetString() == name);
        Assert.DoesNotContain((await c.GetFromJsonAsync<JsonElement[]>("/api/rooms").WaitAsync(Timeouts.Default))!, r => r.GetProperty("name").GetString() == name);
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, "/api/direct", new { userNames = new[] { bob.UserName, "ghost-" + Guid.NewGuid().ToString("N") } }), 404, "user_not_found");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, "/api/direct", new { userNames = Array.Empty<string>() }), 400, "validation_failed");
        await Problem.AssertAsync(await SendJsonAsync(a, HttpMethod.Post, "/api/direct", new { userNames = new[] { alice.UserName } }), 400, "validation_failed");
    }

    [Fact]
    public async Task The_user_directory_and_me()
    {
        var prefix = "dir" + Guid.NewGuid().ToString("N")[..6];
        var one = await Server.NewUserAsync(prefix);
        var two = await Server.NewUserAsync(prefix);
        using var http = one.Http();

        var found = await http.GetFromJsonAsync<JsonElement[]>($"/api/users?search={prefix.ToUpperInvariant()}&limit=10").WaitAsync(Timeouts.Default);
        Assert.Equal(new[] { one.UserName, two.UserName }.Order(StringComparer.Ordinal), found!.Select(u => u.GetProperty("userName").GetString()!).Order(StringComparer.Ordinal));
        Assert.True(found![0].TryGetProperty("firstName", out _));
        var limited = await http.GetFromJsonAsync<JsonElement[]>($"/api/users?search={prefix}&limit=1").WaitAsync(Timeouts.Default);
        Assert.Single(limited!);
        await Problem.AssertAsync(await http.GetAsync("/api/users?limit=0").WaitAsync(Timeouts.Default), 400, "validation_failed");
        await Problem.AssertAsync(await http.GetAsync("/api/users?limit=many").WaitAsync(Timeouts.Default), 400, "validation_failed");

        var me = await http.GetFromJsonAsync<JsonElement>("/api/users/me").WaitAsync(Timeouts.Default);
        Assert.Equal((one.Id, one.UserName), (me.GetProperty("id").GetGuid(), me.GetProperty("userName").GetString()));
        using var anonymous = Server.Http();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/users/me").WaitAsync(Timeouts.Default)).StatusCode);
    }

    [Fact]
    public async Task An_application_authorization_handler_adds_its_own_rules_over_http_and_the_hub()
    {
        await using var server = ChitChatServer.Start(services: s =>
        {
            s.AddSingleton<IAuthorizationHandler, OnlyStaffCreatePublicRooms>();
            s.AddSingleton<IAuthorizationHandler, OnlyStaffSpeakInAnnouncements>();
            s.AddSingleton<IClaimsTransformation, StaffByName>();
        });
        var staff = await server.NewUserAsync("staff");
        var user = await server.NewUserAsync("user");
        using var s1 = staff.Http();
        using var u1 = user.Http();

        var denied = await SendJsonAsync(u1, HttpMethod.Post, "/api/rooms", new { name = "pub-" + Guid.NewGuid().ToString("N")[..8] });
        await Problem.AssertAsync(denied, 403, "forbidden");
        using (var priv = await SendJsonAsync(u1, HttpMethod.Post, "/api/rooms", new { name = "mine-" + Guid.NewGuid().ToString("N")[..8], kind = "private" }))
        {
            await JsonAsync(priv, HttpStatusCode.Created);
        }

        var announcements = "announce-" + Guid.NewGuid().ToString("N")[..8];
        using (var pub = await SendJsonAsync(s1, HttpMethod.Post, "/api/rooms", new { name = announcements }))
        {
            await JsonAsync(pub, HttpStatusCode.Created);
        }

        // The same mechanism gates hub operations: a non-staff user may read the announcements but not send to them.
        await using var userHub = await user.ConnectAsync();
        await userHub.JoinAsync(announcements);
        var refused = await Assert.ThrowsAsync<HubException>(() => userHub.SendAsync(announcements, "me too")).WaitAsync(Timeouts.Default);
        Assert.Equal("forbidden", HubError.Code(refused));
        Assert.Contains("staff", HubError.Message(refused), StringComparison.Ordinal);
        await Problem.AssertAsync(await SendJsonAsync(u1, HttpMethod.Post, $"/api/rooms/{announcements}/messages", new { text = "me too" }), 403, "forbidden");

        await using var staffHub = await staff.ConnectAsync();
        await staffHub.JoinAsync(announcements);
        var ack = await staffHub.SendAsync(announcements, "welcome");
        Assert.Equal(1, ack.Seq);
        await userHub.WaitUntilAsync(c => c.Messages(announcements).Any(m => m.Seq == 1), "the staff's announcement reaches the user");
    }

    [Fact]
    public async Task A_member_added_on_one_node_reads_and_sends_on_another()
    {
        await using var cluster = await ChitChatCluster.StartAsync(nodes: 2);
        var (nodeA, nodeB) = (cluster.Nodes[0], cluster.Nodes[1]);
        var alice = await nodeA.NewUserAsync("alice");
        var bob = await nodeA.NewUserAsync("bob");
        var room = "mn-" + Guid.NewGuid().ToString("N")[..8];
        using var a = nodeA.Http(alice.Token);
        using (var created = await SendJsonAsync(a, HttpMethod.Post, "/api/rooms", new { name = room, kind = "private" }))
        {
            await JsonAsync(created, HttpStatusCode.Created);
        }

        using var b = nodeB.Http(bob.Token);
        await Problem.AssertAsync(await b.GetAsync($"/api/rooms/{room}/messages").WaitAsync(Timeouts.Default), 404, "room_not_found");
        using (var added = await SendJsonAsync(a, HttpMethod.Post, $"/api/rooms/{room}/members", new { userName = bob.UserName }))
        {
            await JsonAsync(added, HttpStatusCode.Created);
        }

        using (var read = await b.GetAsync($"/api/rooms/{room}/messages").WaitAsync(Timeouts.Default))
        {
            await JsonAsync(read, HttpStatusCode.OK);
        }

        await using var bobOnB = await ChitChatCluster.On(bob, nodeB).ConnectAsync();
        await bobOnB.JoinAsync(room);
        var ack = await bobOnB.SendAsync(room, "hello from B");
        Assert.Equal(1, ack.Seq);
    }

    /// <summary>The application rule of the issue: only staff may create public rooms.</summary>
    private sealed class OnlyStaffCreatePublicRooms : AuthorizationHandler<RoomOperationRequirement, RoomCreation>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoomOperationRequirement requirement, RoomCreation resource)
        {
            if (resource.Kind == RoomKind.Public && !context.User.HasClaim(c => c.Type == "staff"))
            {
                context.Fail(new AuthorizationFailureReason(this, "Only staff may create public rooms."));
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>A second application rule, on a room that exists: only staff may send to rooms named <c>announce-*</c>.</summary>
    private sealed class OnlyStaffSpeakInAnnouncements : AuthorizationHandler<RoomOperationRequirement, RoomAccess>
    {
        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RoomOperationRequirement requirement, RoomAccess resource)
        {
            if (requirement.Operation == RoomOperation.Send && resource.Room.Name.StartsWith("announce-", StringComparison.Ordinal) && !context.User.HasClaim(c => c.Type == "staff"))
            {
                context.Fail(new AuthorizationFailureReason(this, "Only staff may speak in announcements."));
            }

            return Task.CompletedTask;
        }
    }

    /// <summary>The test's stand-in for an identity provider's claim: users named <c>staff…</c> get a <c>staff</c> claim.</summary>
    private sealed class StaffByName : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            var name = principal.FindFirst("name")?.Value ?? principal.Identity?.Name;
            if (name is not null && name.StartsWith("staff", StringComparison.Ordinal) && !principal.HasClaim(c => c.Type == "staff") && principal.Identity is ClaimsIdentity identity)
            {
                identity.AddClaim(new Claim("staff", "true"));
            }

            return Task.FromResult(principal);
        }
    }
}
