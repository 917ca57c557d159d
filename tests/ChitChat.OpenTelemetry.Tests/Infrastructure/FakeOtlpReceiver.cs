using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ChitChat.OpenTelemetry.Tests.Infrastructure;

/// <summary>
/// An OTLP/HTTP collector stand-in on real Kestrel (127.0.0.1, a free port): accepts <c>POST /v1/metrics</c> and
/// <c>POST /v1/traces</c> (protobuf, answered with an empty protobuf response) and keeps each request body. Waiters are
/// signalled when a body of a signal contains all the strings they wait for (protobuf keeps names as UTF-8 bytes).
/// </summary>
public sealed class FakeOtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();
    private readonly List<(string Path, byte[] Body)> _requests = [];
    private readonly List<(string Path, string[] Needles, TaskCompletionSource<byte[]> Done)> _waiters = [];

    private FakeOtlpReceiver(WebApplication app) => _app = app;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<FakeOtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new FakeOtlpReceiver(app);
        app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            receiver.Received("/v1/" + signal, context.Request.ContentType, body.ToArray());
            context.Response.ContentType = "application/x-protobuf";
            return Results.Ok();
        });
        await app.StartAsync().WaitAsync(Timeouts.Default);
        receiver.BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        return receiver;
    }

    /// <summary>Gets the content types the exporter posted with.</summary>
    public List<string?> ContentTypes { get; } = [];

    /// <summary>Completes with the first body posted to <paramref name="path"/> that contains every one of <paramref name="needles"/>.</summary>
    public Task<byte[]> WaitForAsync(string path, params string[] needles)
    {
        var done = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var match = _requests.FirstOrDefault(r => r.Path == path && ContainsAll(r.Body, needles));
            if (match.Body is not null)
            {
                done.TrySetResult(match.Body);
            }
            else
            {
                _waiters.Add((path, needles, done));
            }
        }

        return done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(Timeouts.Default);
        await _app.DisposeAsync();
    }

    private void Received(string path, string? contentType, byte[] body)
    {
        lock (_gate)
        {
            ContentTypes.Add(contentType);
            _requests.Add((path, body));
            foreach (var waiter in _waiters.Where(w => w.Path == path && ContainsAll(body, w.Needles)).ToArray())
            {
                _waiters.Remove(waiter);
                waiter.Done.TrySetResult(body);
            }
        }
    }

    private static bool ContainsAll(byte[] body, string[] needles) =>
        needles.All(n => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(n)) >= 0);
}
