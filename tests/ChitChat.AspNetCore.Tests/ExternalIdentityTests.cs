using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ChitChat.Accounts;
using ChitChat.AspNetCore.Authentication;
using ChitChat.AspNetCore.Tests.Infrastructure;
using ChitChat.Contracts;
using ChitChat.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Tests;

/// <summary>
/// Bearer tokens of an external OpenID Connect issuer (<c>ChitChat:Auth:Authority</c>) beside ChitChat's own, against a
/// real issuer on loopback (<see cref="TestIssuer"/>): discovery, JWKS, key rotation, users created on first sight.
/// </summary>
public sealed class ExternalIdentityTests
{
    private static ChitChatServer StartServer(TestIssuer issuer, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["ChitChat:Auth:Authority"] = issuer.Issuer,
            ["ChitChat:Auth:RequireHttpsMetadata"] = "false",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return ChitChatServer.Start(settings);
    }

    private static string NewName(string prefix) => $"{prefix}_{Guid.NewGuid().ToString("N")[..8]}";

    private static async Task<HttpResponseMessage> GetRoomsAsync(ChitChatServer server, string token)
    {
        using var http = server.Http(token);
        return await http.GetAsync("/api/rooms").WaitAsync(Timeouts.Default);
    }

    private static async Task<HubClient> ConnectAsync(ChitChatServer server, string token, string phase)
    {
        var client = new HubClient(server.Hub(() => Task.FromResult<string?>(token)));
        try
        {
            await client.Connection.StartAsync().WaitAsync(Timeouts.Default);
        }
        catch (TimeoutException)
        {
            await client.DisposeAsync();
            throw new TimeoutException($"Timed out connecting the hub: {phase}.");
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        return client;
    }

    private static Task<ChatUser?> FindUserAsync(ChitChatServer server, string userName) =>
        server.Services.GetRequiredService<IChatStore>().Users.FindByNameAsync(userName).WaitAsync(Timeouts.Default);

    [Fact]
    public async Task An_external_token_works_on_http_and_the_hub_and_its_user_is_created_once_on_first_sight()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var name = NewName("alice");
        var subject = "subject-" + Guid.NewGuid().ToString("N");
        var token = issuer.CreateToken(subject, name);
        Assert.Null(await FindUserAsync(server, name));

        // HTTP (Authorization header): the first request creates the user.
        using (var rooms = await GetRoomsAsync(server, token))
        {
            Assert.Equal(HttpStatusCode.OK, rooms.StatusCode);
        }

        var created = await FindUserAsync(server, name);
        Assert.NotNull(created);
        Assert.Equal(AccountService.ExternalUserId(issuer.Issuer, subject), created.Id);
        Assert.Equal(name, created.UserName);

        // A second request (a new token of the same identity) maps to the same user and creates nothing.
        var room = NewName("ext").ToLowerInvariant().Replace('_', '-');
        using (var http = server.Http(issuer.CreateToken(subject, name)))
        using (var create = await http.PostAsJsonAsync("/api/rooms", new { name = room }).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        }

        var again = await FindUserAsync(server, name);
        Assert.Equal(created, again);

        // The hub (WebSockets: the token travels in the access_token query string).
        await using var client = await ConnectAsync(server, token, "external token");
        await client.JoinAsync(room);
        var ack = await client.SendAsync(room, "hello from outside");
        await client.WaitUntilAsync(c => c.Messages(room).Any(m => m.Id == ack.Id), "the external user's own message arrives");
        var message = client.Messages(room).Single(m => m.Id == ack.Id);
        Assert.Equal(created.Id, message.AuthorId);
        Assert.Equal(name, message.AuthorName);

        // HTTP send: the author is that user too.
        using (var http = server.Http(token))
        using (var send = await http.PostAsJsonAsync($"/api/rooms/{room}/messages", new { text = "over http", clientMessageId = Guid.NewGuid().ToString("N") }).WaitAsync(Timeouts.Default))
        {
            Assert.Equal(HttpStatusCode.Created, send.StatusCode);
            var dto = await send.Content.ReadFromJsonAsync<MessageDto>(ChitChatServer.Json).WaitAsync(Timeouts.Default);
            Assert.Equal(created.Id, dto!.AuthorId);
            Assert.Equal(name, dto.AuthorName);
        }

        // External users have no password: login refuses them, whatever is tried.
        using var anonymous = server.Http();
        foreach (var password in new[] { "external", "", "password123" })
        {
            using var login = await anonymous.PostAsJsonAsync("/api/auth/login", new { userName = name, password }).WaitAsync(Timeouts.Default);
            await Problem.AssertAsync(login, 401, ChatErrorCodes.InvalidCredentials);
        }
    }

    [Fact]
    public async Task The_user_id_and_name_claims_are_configurable()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer, new Dictionary<string, string?>
        {
            ["ChitChat:Auth:UserIdClaim"] = "oid",
            ["ChitChat:Auth:UserNameClaim"] = "nickname",
        });
        var name = NewName("bob");
        var objectId = Guid.NewGuid().ToString("D");
        var token = issuer.CreateToken("not-the-id", "not_the_name", claims: new Dictionary<string, object> { ["oid"] = objectId, ["nickname"] = name });

        using (var response = await GetRoomsAsync(server, token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var user = await FindUserAsync(server, name);
        Assert.NotNull(user);
        Assert.Equal(AccountService.ExternalUserId(issuer.Issuer, objectId), user.Id);
        Assert.Null(await FindUserAsync(server, "not_the_name"));

        await using var client = await ConnectAsync(server, token, "configured claims");
        var room = await server.NewRoomAsync(await server.NewUserAsync());
        await client.JoinAsync(room);
        var ack = await client.SendAsync(room, "hi");
        await client.WaitUntilAsync(c => c.Messages(room).Any(m => m.Id == ack.Id), "the message of the user named by the configured claim");
        Assert.Equal(name, client.Messages(room).Single(m => m.Id == ack.Id).AuthorName);

        // Without the configured id claim the token is refused, and the problem names the claim.
        using var missing = await GetRoomsAsync(server, issuer.CreateToken("sub-only", NewName("carl"), claims: new Dictionary<string, object> { ["nickname"] = NewName("carl") }));
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        var problem = await Problem.ReadAsync(missing);
        Assert.Equal(ChatErrorCodes.Unauthorized, problem.GetProperty("code").GetString());
        Assert.Contains("'oid'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rotated_in_key_is_accepted_by_the_running_server_and_the_removed_key_is_not()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var subject = "rotating-" + Guid.NewGuid().ToString("N");
        var name = NewName("rot");
        var oldKey = issuer.CurrentKey;

        using (var before = await GetRoomsAsync(server, issuer.CreateToken(subject, name)))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var fetchesBeforeRotation = issuer.JwksRequests;
        Assert.True(fetchesBeforeRotation >= 1, "the server fetched the JWKS for the first token");

        // The issuer rotates: the JWKS now holds only the new key id. The first token signed with it is accepted at once
        // (the unknown key id makes the server fetch the JWKS again and validate once more), on HTTP and on the hub.
        var newKey = issuer.Rotate();
        Assert.NotEqual(oldKey.KeyId, newKey.KeyId);
        var rotated = issuer.CreateToken(subject, name);
        using (var after = await GetRoomsAsync(server, rotated))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        Assert.True(issuer.JwksRequests > fetchesBeforeRotation, "the server fetched the JWKS again after the rotation");
        await using (var client = await ConnectAsync(server, rotated, "token signed with the rotated-in key"))
        {
            Assert.Equal(HubConnectionState.Connected, client.Connection.State);
        }

        // The key that left the JWKS no longer validates.
        using var stale = await GetRoomsAsync(server, issuer.CreateToken(subject, name, key: oldKey));
        await Problem.AssertAsync(stale, 401, ChatErrorCodes.Unauthorized);
    }

    [Fact]
    public async Task Tokens_of_an_untrusted_issuer_or_key_or_audience_are_refused_on_http_and_the_hub()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var stranger = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);

        var refused = new Dictionary<string, string>
        {
            // A real issuer, but not the configured one.
            ["another issuer"] = stranger.CreateToken("s1", NewName("mallory")),
            // The configured issuer's name, signed with a key that is not in its JWKS.
            ["a key outside the JWKS"] = issuer.CreateToken("s2", NewName("mallory"), key: TestIssuer.NewKey()),
            // The configured issuer's key, for another audience.
            ["another audience"] = issuer.CreateToken("s3", NewName("mallory"), audience: "someone-else"),
            // The configured issuer's key, but claiming to be ChitChat's own issuer.
            ["ChitChat's own issuer name"] = issuer.CreateToken("s4", NewName("mallory"), issuer: "chitchat"),
            // Expired (beyond the clock skew).
            ["expired"] = issuer.CreateToken("s5", NewName("mallory"), lifetime: TimeSpan.FromMinutes(-5)),
        };

        foreach (var (what, token) in refused)
        {
            using var response = await GetRoomsAsync(server, token);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: expected 401, got {(int)response.StatusCode}");
            var problem = await Problem.ReadAsync(response);
            Assert.Equal(ChatErrorCodes.Unauthorized, problem.GetProperty("code").GetString());

            var client = new HubClient(server.Hub(() => Task.FromResult<string?>(token)));
            await using (client)
            {
                var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.Connection.StartAsync().WaitAsync(Timeouts.Default));
                Assert.True(error.StatusCode == HttpStatusCode.Unauthorized, $"{what}: the hub answered {error.StatusCode}");
            }
        }

        // None of them created a user.
        var store = server.Services.GetRequiredService<IChatStore>();
        foreach (var subject in new[] { "s1", "s2", "s3", "s4", "s5" })
        {
            Assert.Null(await store.Users.FindByIdAsync(AccountService.ExternalUserId(issuer.Issuer, subject)).WaitAsync(Timeouts.Default));
            Assert.Null(await store.Users.FindByIdAsync(AccountService.ExternalUserId(stranger.Issuer, subject)).WaitAsync(Timeouts.Default));
        }
    }

    [Fact]
    public async Task An_external_name_held_by_a_local_account_is_refused_and_never_takes_it_over()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var local = await server.NewUserAsync("carol");

        var token = issuer.CreateToken("carol-elsewhere", local.UserName.ToUpperInvariant());
        using (var response = await GetRoomsAsync(server, token))
        {
            await Problem.AssertAsync(response, 403, ChatErrorCodes.Forbidden);
        }

        var hub = new HubClient(server.Hub(() => Task.FromResult<string?>(token)));
        await using (hub)
        {
            var error = await Assert.ThrowsAsync<HttpRequestException>(() => hub.Connection.StartAsync().WaitAsync(Timeouts.Default));
            Assert.Equal(HttpStatusCode.Forbidden, error.StatusCode);
        }

        // The local account is untouched and keeps working; an invalid external name is refused too.
        Assert.Equal(local.Id, (await FindUserAsync(server, local.UserName))!.Id);
        using (var own = await GetRoomsAsync(server, local.Token))
        {
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
        }

        using var invalid = await GetRoomsAsync(server, issuer.CreateToken("bad-name", "no spaces allowed"));
        await Problem.AssertAsync(invalid, 403, ChatErrorCodes.Forbidden);
    }

    [Fact]
    public async Task ChitChat_own_register_and_login_tokens_keep_working_beside_the_external_issuer()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var own = await server.NewUserAsync("own");
        var room = await server.NewRoomAsync(own);

        var external = NewName("ext");
        await using var outsider = await ConnectAsync(server, issuer.CreateToken("ext-" + Guid.NewGuid().ToString("N"), external), "external user");
        await using var insider = await own.ConnectAsync();
        await outsider.JoinAsync(room);
        await insider.JoinAsync(room);

        var fromOwn = await insider.SendAsync(room, "from a registered user");
        var fromExternal = await outsider.SendAsync(room, "from an external user");
        await insider.WaitUntilAsync(c => c.Messages(room).Any(m => m.Id == fromExternal.Id), "the registered user sees the external user's message");
        await outsider.WaitUntilAsync(c => c.Messages(room).Any(m => m.Id == fromOwn.Id), "the external user sees the registered user's message");
        Assert.Equal(own.Id, outsider.Messages(room).Single(m => m.Id == fromOwn.Id).AuthorId);
        Assert.Equal(external, insider.Messages(room).Single(m => m.Id == fromExternal.Id).AuthorName);

        // An own token whose signature is broken is still refused by ChitChat's own scheme.
        using var broken = await GetRoomsAsync(server, own.Token[..^4] + "AAAA");
        await Problem.AssertAsync(broken, 401, ChatErrorCodes.Unauthorized);
    }

    [Fact]
    public async Task A_hub_connection_closes_when_its_token_expires_and_a_fresh_token_connects_again()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var subject = "expiring-" + Guid.NewGuid().ToString("N");
        var name = NewName("brief");
        var room = await server.NewRoomAsync(await server.NewUserAsync());

        var shortLived = issuer.CreateToken(subject, name, lifetime: TimeSpan.FromSeconds(6));
        var client = new HubClient(server.Hub(() => Task.FromResult<string?>(shortLived)));
        await using (client)
        {
            var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
            client.Connection.Closed += error =>
            {
                closed.TrySetResult(error);
                return Task.CompletedTask;
            };
            await client.Connection.StartAsync().WaitAsync(Timeouts.Default);
            await client.JoinAsync(room);

            try
            {
                await closed.Task.WaitAsync(Timeouts.Default);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException("Timed out waiting for: the server closes the hub connection when its token expires.");
            }

            Assert.Equal(HubConnectionState.Disconnected, client.Connection.State);
        }

        // The client reconnects with a fresh token of the same identity: same user, works.
        await using var fresh = await ConnectAsync(server, issuer.CreateToken(subject, name), "reconnect with a fresh token");
        await fresh.JoinAsync(room);
        var ack = await fresh.SendAsync(room, "back again");
        await fresh.WaitUntilAsync(c => c.Messages(room).Any(m => m.Id == ack.Id), "the reconnected user's message");
        Assert.Equal(AccountService.ExternalUserId(issuer.Issuer, subject), fresh.Messages(room).Single(m => m.Id == ack.Id).AuthorId);
    }

    [Fact]
    public async Task A_client_with_automatic_reconnect_comes_back_by_itself_with_a_fresh_token_after_expiry()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var subject = "auto-" + Guid.NewGuid().ToString("N");
        var name = NewName("auto");
        var room = await server.NewRoomAsync(await server.NewUserAsync());

        // The access token provider is asked on every (re)connect (negotiate and transport): short-lived tokens until the
        // first connection is up, long-lived ones afterwards.
        var issued = new List<string>();
        var started = false;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/chat"), o =>
            {
                o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                o.AccessTokenProvider = () =>
                {
                    lock (issued)
                    {
                        var token = issuer.CreateToken(subject, name, lifetime: started ? TimeSpan.FromMinutes(10) : TimeSpan.FromSeconds(6));
                        issued.Add(token);
                        return Task.FromResult<string?>(token);
                    }
                };
            })
            .WithAutomaticReconnect()
            .Build();
        var client = new HubClient(connection);
        await using (client)
        {
            var reconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connection.Reconnected += _ =>
            {
                reconnected.TrySetResult();
                return Task.CompletedTask;
            };
            await connection.StartAsync().WaitAsync(Timeouts.Default);
            int issuedAtStart;
            lock (issued)
            {
                started = true;
                issuedAtStart = issued.Count;
            }

            try
            {
                await reconnected.Task.WaitAsync(Timeouts.Default);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException("Timed out waiting for: the client reconnects by itself after the server closed the connection at token expiry.");
            }

            lock (issued)
            {
                Assert.True(issued.Count > issuedAtStart, "the reconnect asked the access token provider for a fresh token");
            }

            await client.JoinAsync(room);
            var ack = await client.SendAsync(room, "reconnected by itself");
            await client.WaitUntilAsync(c => c.Messages(room).Any(m => m.Id == ack.Id), "the message sent after the automatic reconnect");
            Assert.Equal(AccountService.ExternalUserId(issuer.Issuer, subject), client.Messages(room).Single(m => m.Id == ack.Id).AuthorId);
        }
    }

    [Fact]
    public async Task Keys_already_read_keep_working_while_the_issuer_is_down_and_an_issuer_never_reached_only_refuses_its_tokens()
    {
        await using var issuer = await TestIssuer.StartAsync();
        var name = NewName("steady");
        await using (var server = StartServer(issuer))
        {
            var token = issuer.CreateToken("steady-subject", name);
            using (var first = await GetRoomsAsync(server, token))
            {
                Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            }

            await issuer.DisposeAsync(); // the issuer goes down

            // The cached discovery document and JWKS still validate; an unknown key id cannot be looked up and is refused.
            using (var cached = await GetRoomsAsync(server, issuer.CreateToken("steady-subject", name)))
            {
                Assert.Equal(HttpStatusCode.OK, cached.StatusCode);
            }

            using var unknown = await GetRoomsAsync(server, issuer.CreateToken("steady-subject", name, key: TestIssuer.NewKey()));
            await Problem.AssertAsync(unknown, 401, ChatErrorCodes.Unauthorized);
        }

        // A server whose issuer was never reachable refuses external tokens with 401 and keeps serving its own users.
        await using var orphan = StartServer(issuer);
        using (var refused = await GetRoomsAsync(orphan, issuer.CreateToken("steady-subject", name)))
        {
            await Problem.AssertAsync(refused, 401, ChatErrorCodes.Unauthorized);
        }

        var own = await orphan.NewUserAsync("own");
        using var ok = await GetRoomsAsync(orphan, own.Token);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task ChitChat_Bearer_stays_the_default_scheme_beside_the_external_one()
    {
        await using var issuer = await TestIssuer.StartAsync();
        await using var server = StartServer(issuer);
        var schemes = server.Services.GetRequiredService<IAuthenticationSchemeProvider>();
        Assert.Equal(ChitChatAuthenticationDefaults.AuthenticationScheme, (await schemes.GetDefaultAuthenticateSchemeAsync().WaitAsync(Timeouts.Default))?.Name);
        Assert.Equal(ChitChatAuthenticationDefaults.AuthenticationScheme, (await schemes.GetDefaultChallengeSchemeAsync().WaitAsync(Timeouts.Default))?.Name);
        Assert.NotNull(await schemes.GetSchemeAsync(ChitChatAuthenticationDefaults.ExternalAuthenticationScheme).WaitAsync(Timeouts.Default));
    }

    [Theory]
    [InlineData("not a uri", null, "ChitChat:Auth:Authority must be an absolute http(s) URI")]
    [InlineData("/relative/path", null, "ChitChat:Auth:Authority must be an absolute http(s) URI")]
    [InlineData("ftp://127.0.0.1/issuer", null, "ChitChat:Auth:Authority must be an absolute http(s) URI")]
    [InlineData("http://127.0.0.1:5001", null, "ChitChat:Auth:RequireHttpsMetadata")]
    [InlineData("http://127.0.0.1:5001", "true", "ChitChat:Auth:RequireHttpsMetadata")]
    [InlineData("chitchat", "false", "ChitChat:Auth:Authority must be an absolute http(s) URI")]
    public void Bad_external_issuer_configuration_stops_start_up_naming_the_key(string authority, string? requireHttps, string expected)
    {
        var settings = new Dictionary<string, string?> { ["ChitChat:Auth:Authority"] = authority };
        if (requireHttps is not null)
        {
            settings["ChitChat:Auth:RequireHttpsMetadata"] = requireHttps;
        }

        var error = Assert.ThrowsAny<Exception>(() => ChitChatServer.Start(settings));
        while (error is AggregateException { InnerException: { } inner })
        {
            error = inner;
        }

        var validation = Assert.IsType<OptionsValidationException>(error);
        Assert.Contains(expected, validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_authority_equal_to_the_own_issuer_or_empty_claims_stop_start_up()
    {
        var error = Assert.ThrowsAny<Exception>(() => ChitChatServer.Start(new Dictionary<string, string?>
        {
            ["ChitChat:Auth:Authority"] = "https://login.example/",
            ["ChitChat:Auth:Issuer"] = "https://login.example",
            ["ChitChat:Auth:UserNameClaim"] = " ",
        }));
        while (error is AggregateException { InnerException: { } inner })
        {
            error = inner;
        }

        var validation = Assert.IsType<OptionsValidationException>(error);
        Assert.Contains("ChitChat:Auth:Authority must differ from ChitChat:Auth:Issuer", validation.Message, StringComparison.Ordinal);
        Assert.Contains("ChitChat:Auth:UserNameClaim is required", validation.Message, StringComparison.Ordinal);
    }
}
