// The baselines of benchmarks/ChitChat.LoadTest, in one process:
//   /hubs/chat  a plain SignalR hub (Clients.Group(room).SendAsync), optionally over SignalR's Redis backplane;
//   /ws         a plain Kestrel WebSocket broadcast of pre-serialized frames (WebSocketBroadcast.cs): the upper bound.
// Usage: ChitChat.LoadTest.Baseline --urls http://127.0.0.1:P [--redis 127.0.0.1:6379] --signing-key KEY
using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.IdentityModel.Tokens;

var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var signingKey = builder.Configuration["signing-key"] ?? throw new InvalidOperationException("--signing-key is required");
var redis = builder.Configuration["redis"];

builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
{
    o.MapInboundClaims = false;
    o.TokenValidationParameters = new TokenValidationParameters
    {
        ValidateIssuer = false,
        ValidateAudience = false,
        IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)),
        NameClaimType = "name",
    };
    o.Events = new JwtBearerEvents
    {
        OnMessageReceived = ctx =>
        {
            var token = ctx.Request.Query["access_token"];
            if (!string.IsNullOrEmpty(token) && ctx.HttpContext.Request.Path.StartsWithSegments("/hubs"))
            {
                ctx.Token = token;
            }

            return Task.CompletedTask;
        },
    };
});
builder.Services.AddAuthorization();
var signalR = builder.Services.AddSignalR();
if (!string.IsNullOrEmpty(redis))
{
    signalR.AddStackExchangeRedis(redis, o => o.Configuration.ChannelPrefix = StackExchange.Redis.RedisChannel.Literal("baseline"));
}

var app = builder.Build();
app.UseWebSockets();
app.UseAuthentication();
app.UseAuthorization();
app.MapHub<BaselineHub>("/hubs/chat");
app.Map("/ws", WebSocketBroadcast.AcceptAsync);
app.MapGet("/health", () => "ok");
app.Run();

/// <summary>The plain SignalR hub the load test compares ChitChat with.</summary>
[Authorize]
internal sealed class BaselineHub : Hub
{
    public Task JoinRoom(string room) => Groups.AddToGroupAsync(Context.ConnectionId, room);

    public Task SendMessage(string room, string text) =>
        Clients.Group(room).SendAsync("message", new BaselineMessage(room, Context.User?.FindFirstValue("name") ?? "?", text));
}

internal sealed record BaselineMessage(string Room, string AuthorName, string Text);
