using ChitChat.Contracts;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace ChitChat.AspNetCore.Tests;

public sealed class AuthTests(SharedServer shared)
{
    private ChitChatServer Server => shared.Server;

    [Fact]
    public async Task Register_returns_201_with_id_and_user_name_and_login_returns_a_token()
    {
        var name = "reg_" + Guid.NewGuid().ToString("N")[..8];
        using var http = Server.Http();
        using var register = await http.PostAsJsonAsync("/api/auth/register", new { userName = name, password = "password123", firstName = "Ada" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Created, register.StatusCode);
        var user = await register.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeouts.Default);
        Assert.Equal(name, user.GetProperty("userName").GetString());
        var id = user.GetProperty("id").GetGuid();

        using var login = await http.PostAsJsonAsync("/api/auth/login", new { userName = name.ToUpperInvariant(), password = "password123" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var body = await login.Content.ReadFromJsonAsync<JsonElement>().WaitAsync(Timeouts.Default);
        Assert.False(string.IsNullOrEmpty(body.GetProperty("accessToken").GetString()));
        Assert.True(body.GetProperty("expiresAt").GetDateTime() > DateTime.UtcNow.AddHours(1));
        Assert.Equal(id, body.GetProperty("user").GetProperty("id").GetGuid());
        Assert.Equal(name, body.GetProperty("user").GetProperty("userName").GetString());
    }

    [Fact]
    public async Task Register_problems_carry_codes_and_field_errors()
    {
        using var http = Server.Http();
        using var invalid = await http.PostAsJsonAsync("/api/auth/register", new { userName = "x", password = "short" }).WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var problem = await Problem.ReadAsync(invalid);
        Assert.Equal("validation_failed", problem.GetProperty("code").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty("userName", out _));
        Assert.True(problem.GetProperty("errors").TryGetProperty("password", out _));

        var user = await Server.NewUserAsync();
        using var duplicate = await http.PostAsJsonAsync("/api/auth/register", new { userName = user.UserName.ToUpperInvariant(), password = "password123" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(duplicate, 409, "user_exists");
    }

    [Fact]
    public async Task Malformed_json_wrong_types_and_missing_body_are_validation_failed_not_500()
    {
        using var http = Server.Http();
        foreach (var body in new[] { "{\"userName\": \"abc\",", "{\"userName\": 12, \"password\": true}", "[1,2,3]", "null", "" })
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/api/auth/register", content).WaitAsync(Timeouts.Default);
            await Problem.AssertAsync(response, 400, "validation_failed");
        }

        using var text = new StringContent("userName=abc", Encoding.UTF8, "text/plain");
        using var wrongType = await http.PostAsync("/api/auth/login", text).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(wrongType, 400, "validation_failed");
    }

    [Fact]
    public async Task Oversized_body_is_payload_too_large()
    {
        using var http = Server.Http();
        var huge = "{\"userName\":\"" + new string('a', 200_000) + "\",\"password\":\"password123\"}";
        using var content = new StringContent(huge, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("/api/auth/register", content).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(response, 413, "payload_too_large");
    }

    [Fact]
    public async Task Login_with_wrong_password_or_unknown_user_is_invalid_credentials()
    {
        var user = await Server.NewUserAsync();
        using var http = Server.Http();
        using var wrong = await http.PostAsJsonAsync("/api/auth/login", new { userName = user.UserName, password = "wrong-password" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(wrong, 401, "invalid_credentials");
        using var unknown = await http.PostAsJsonAsync("/api/auth/login", new { userName = "nobody_" + Guid.NewGuid().ToString("N")[..8], password = "password123" }).WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(unknown, 401, "invalid_credentials");
    }

    [Fact]
    public async Task Api_without_or_with_a_bad_token_is_401_problem_unauthorized()
    {
        using (var anonymous = Server.Http())
        using (var response = await anonymous.GetAsync("/api/rooms").WaitAsync(Timeouts.Default))
        {
            await Problem.AssertAsync(response, 401, "unauthorized");
        }

        var user = await Server.NewUserAsync();
        var tampered = user.Token[..^4] + (user.Token.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        using var bad = Server.Http(tampered);
        using var badResponse = await bad.GetAsync("/api/rooms").WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(badResponse, 401, "unauthorized");

        // A token signed with another key (another deployment) is refused too.
        await using var other = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Auth:SigningKey"] = "a-completely-different-signing-key-0123456789" });
        var stranger = await other.NewUserAsync();
        using var foreign = Server.Http(stranger.Token);
        using var foreignResponse = await foreign.GetAsync("/api/rooms").WaitAsync(Timeouts.Default);
        await Problem.AssertAsync(foreignResponse, 401, "unauthorized");
    }

    [Fact]
    public async Task Hub_refuses_anonymous_and_bad_tokens_at_negotiate()
    {
        await using var anonymous = Server.Hub(() => Task.FromResult<string?>(null));
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync().WaitAsync(Timeouts.Default));
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);

        await using var garbage = Server.Hub(() => Task.FromResult<string?>("not-a-jwt"));
        var refusedGarbage = await Assert.ThrowsAsync<HttpRequestException>(() => garbage.StartAsync().WaitAsync(Timeouts.Default));
        Assert.Equal(HttpStatusCode.Unauthorized, refusedGarbage.StatusCode);
        Assert.Equal(HubConnectionState.Disconnected, garbage.State);
    }

    [Fact]
    public async Task Hub_accepts_the_token_from_the_access_token_query_string()
    {
        // What browsers do for WebSockets: no Authorization header, the token in the query string.
        var user = await Server.NewUserAsync();
        await using var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(Server.BaseAddress, "/hubs/chat?access_token=" + Uri.EscapeDataString(user.Token)), o =>
            {
                o.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
            })
            .Build();
        await connection.StartAsync().WaitAsync(Timeouts.Default);
        var join = await connection.InvokeAsync<JoinRoomResult>("JoinRoom", "global", 0L).WaitAsync(Timeouts.Default);
        Assert.Equal("global", join.Room);
    }
}
