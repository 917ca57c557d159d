using System.Net;
using System.Text.Json;
using ChitChat.AspNetCore.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace ChitChat.AspNetCore.Tests;

public sealed class HostingTests(SharedServer shared)
{
    [Fact]
    public async Task Health_reports_one_entry_per_check_as_json()
    {
        using var http = shared.Server.Http();
        using var response = await http.GetAsync("/health").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeouts.Default)).RootElement;
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        var checks = body.GetProperty("checks");
        foreach (var name in new[] { "store", "transport" })
        {
            Assert.Equal("Healthy", checks.GetProperty(name).GetProperty("status").GetString());
            Assert.False(string.IsNullOrEmpty(checks.GetProperty(name).GetProperty("description").GetString()));
        }
    }

    [Fact]
    public async Task OpenApi_document_describes_the_api()
    {
        using var http = shared.Server.Http();
        using var response = await http.GetAsync("/openapi/v1.json").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync().WaitAsync(Timeouts.Default)).RootElement;
        var paths = doc.GetProperty("paths");
        foreach (var path in new[] { "/api/auth/register", "/api/auth/login", "/api/rooms", "/api/rooms/{room}/messages" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"OpenAPI lists {path}");
        }
    }

    [Fact]
    public void Outside_Development_a_missing_signing_key_fails_start_up()
    {
        var error = Assert.ThrowsAny<Exception>(() => ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Auth:SigningKey"] = null }, environment: "Production"));
        var validation = Assert.IsType<OptionsValidationException>(Unwrap(error));
        Assert.Contains("ChitChat:Auth:SigningKey is required", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_signing_key_fails_start_up_in_every_environment()
    {
        var error = Assert.ThrowsAny<Exception>(() => ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Auth:SigningKey"] = "too-short" }));
        var validation = Assert.IsType<OptionsValidationException>(Unwrap(error));
        Assert.Contains("at least 32 bytes", validation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1025")]
    public void An_out_of_range_parallel_invocation_limit_fails_start_up(string value)
    {
        var error = Assert.ThrowsAny<Exception>(() => ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Hub:MaximumParallelInvocationsPerClient"] = value }));
        var validation = Assert.IsType<OptionsValidationException>(Unwrap(error));
        Assert.Contains("ChitChat:Hub:MaximumParallelInvocationsPerClient must be between 1 and 1024", validation.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_Development_without_a_key_a_per_process_key_is_generated_and_works()
    {
        await using var server = ChitChatServer.Start(new Dictionary<string, string?> { ["ChitChat:Auth:SigningKey"] = null });
        var user = await server.NewUserAsync();
        using var http = user.Http();
        using var response = await http.GetAsync("/api/rooms").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Its tokens are not valid on a server with another key.
        using var elsewhere = shared.Server.Http(user.Token);
        using var refused = await elsewhere.GetAsync("/api/rooms").WaitAsync(Timeouts.Default);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static Exception Unwrap(Exception error)
    {
        while (error is AggregateException { InnerException: { } inner })
        {
            error = inner;
        }

        return error;
    }
}
