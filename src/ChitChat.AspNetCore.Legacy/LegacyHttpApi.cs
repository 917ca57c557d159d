using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using ChitChat.Accounts;
using ChitChat.History;
using ChitChat.Messaging;
using ChitChat.Rooms;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>The ChitChat 1 HTTP endpoints and the WebSocket entry point. Every write goes through ChitChat's services
/// (<see cref="AccountService"/>, <see cref="MessageSender"/>), like the native API's.</summary>
internal sealed class LegacyHttpApi
{
    private readonly AccountService _accounts;
    private readonly RoomService _chatRooms;
    private readonly MessageSender _sender;
    private readonly HistoryService _history;
    private readonly string _defaultRoom;
    private readonly LegacyRoomDirectory _rooms;
    private readonly LegacyWebSocketHub _hub;
    private readonly ICorsService _cors;
    private readonly LegacyApiOptions _options;
    private readonly ILogger<LegacyHttpApi> _logger;
    private readonly CorsPolicy _corsPolicy;

    public LegacyHttpApi(
        AccountService accounts,
        RoomService chatRooms,
        MessageSender sender,
        HistoryService history,
        IOptions<ChitChatOptions> chatOptions,
        LegacyRoomDirectory rooms,
        LegacyWebSocketHub hub,
        ICorsService cors,
        IOptions<LegacyApiOptions> options,
        ILogger<LegacyHttpApi> logger)
    {
        _accounts = accounts;
        _chatRooms = chatRooms;
        _sender = sender;
        _history = history;
        _defaultRoom = chatOptions.Value.DefaultRoom;
        _rooms = rooms;
        _hub = hub;
        _cors = cors;
        _options = options.Value;
        _logger = logger;
        var policy = new CorsPolicyBuilder().WithMethods("POST").AllowAnyHeader().SetPreflightMaxAge(TimeSpan.FromMinutes(10));
        if (_options.AllowedOrigins.Count > 0)
        {
            policy.WithOrigins([.. _options.AllowedOrigins]);
        }

        _corsPolicy = policy.Build();
    }

    /// <summary>Answers a CORS preflight: the CORS headers only for an allowed origin, 204 either way.</summary>
    public Task PreflightAsync(HttpContext context)
    {
        ApplyCors(context);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    public async Task RegisterAsync(HttpContext context)
    {
        ApplyCors(context);
        var request = await ReadAsync(context, LegacyJsonContext.Default.LegacyRegisterRequest).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        try
        {
            await _accounts.RegisterAsync(new RegisterRequest(request.UserName, request.Password, request.FirstName, request.LastName), context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, StatusCodes.Status201Created, new LegacyStatus("Account Created"), LegacyJsonContext.Default.LegacyStatus).ConfigureAwait(false);
        }
        catch (ChatException ex) when (ex.Code == ChatErrorCodes.UserExists)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, new LegacyStatus("User already exists"), LegacyJsonContext.Default.LegacyStatus).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
        }
    }

    public async Task LoginAsync(HttpContext context)
    {
        ApplyCors(context);
        var request = await ReadAsync(context, LegacyJsonContext.Default.LegacyLoginRequest).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        try
        {
            var user = await _accounts.VerifyCredentialsAsync(request.UserName, request.Password, context.RequestAborted).ConfigureAwait(false);
            var response = new LegacyLoginResponse(user.UserName, user.Id.ToString(), _defaultRoom);
            await WriteAsync(context, StatusCodes.Status200OK, response, LegacyJsonContext.Default.LegacyLoginResponse).ConfigureAwait(false);
        }
        catch (ChatException ex) when (ex.Code == ChatErrorCodes.InvalidCredentials)
        {
            await WriteAsync(context, StatusCodes.Status401Unauthorized, new LegacyStatus("Invalid credentials"), LegacyJsonContext.Default.LegacyStatus).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
        }
    }

    public async Task ListMessagesAsync(HttpContext context)
    {
        ApplyCors(context);
        var request = await ReadAsync(context, LegacyJsonContext.Default.LegacyListRequest).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        if (await ReadChatroomIdAsync(context, request.ChatroomId).ConfigureAwait(false) is not { } chatroomId)
        {
            return;
        }

        if (await FindRoomAsync(context, chatroomId).ConfigureAwait(false) is not { } room)
        {
            return;
        }

        try
        {
            var messages = await _history.GetHistoryAsync(RoomName.Parse(room), new HistoryQuery(Limit: _options.HistoryLimit), context.RequestAborted).ConfigureAwait(false);
            var result = messages
                .Select(m => new LegacyMessage(m.AuthorId.ToString(), m.AuthorName, chatroomId, m.Text, LegacyJsonContext.FormatTime(m.SentAt)))
                .ToArray();
            await WriteAsync(context, StatusCodes.Status200OK, result, LegacyJsonContext.Default.LegacyMessageArray).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
        }
    }

    public async Task CreateMessageAsync(HttpContext context)
    {
        ApplyCors(context);
        var request = await ReadAsync(context, LegacyJsonContext.Default.LegacyCreateRequest).ConfigureAwait(false);
        if (request is null)
        {
            return;
        }

        if (await ReadChatroomIdAsync(context, request.ChatroomId).ConfigureAwait(false) is not { } chatroomId)
        {
            return;
        }

        // The author is the user the id names, and the name must match it: a client cannot post as someone else by name.
        var user = Guid.TryParse(LegacyJsonContext.ReadText(request.UserId), out var userId)
            ? await _accounts.FindUserAsync(userId, context.RequestAborted).ConfigureAwait(false)
            : null;
        if (user is null)
        {
            await BadRequestAsync(context, "Unknown user.").ConfigureAwait(false);
            return;
        }

        if (!string.Equals(user.UserName, request.UserName?.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            await BadRequestAsync(context, "userName does not match userId.").ConfigureAwait(false);
            return;
        }

        if (await FindRoomAsync(context, chatroomId).ConfigureAwait(false) is not { } room)
        {
            return;
        }

        try
        {
            // No idempotency key (ChitChat 1 clients send none); the origin tells the legacy sink that the sender has already
            // broadcast this text over its WebSocket.
            var message = new SendMessageRequest(RoomName.Parse(room), request.Message) { Origin = MessageOrigins.Legacy };
            await _sender.SendAsync(new ChatIdentity(user.Id, user.UserName), message, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            await WriteAsync(context, StatusCodes.Status201Created, new LegacyStatus("Message Saved"), LegacyJsonContext.Default.LegacyStatus).ConfigureAwait(false);
        }
        catch (ChatException ex)
        {
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
        }
    }

    public async Task WebSocketAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await BadRequestAsync(context, "A WebSocket upgrade is required.").ConfigureAwait(false);
            return;
        }

        // Browsers do not apply CORS to WebSockets: check the Origin ourselves (cross-site WebSocket hijacking).
        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !_options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase) && !IsSameOrigin(context, origin))
        {
            LegacyLog.OriginRejected(_logger);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        RoomName room;
        try
        {
            room = RoomName.Parse(context.Request.RouteValues["roomName"] as string, "roomName");
            var found = await _chatRooms.GetAsync(room, context.RequestAborted).ConfigureAwait(false);
            if (found.Kind != RoomKind.Public)
            {
                // The ChitChat 1 API knows public rooms only, and says so the way it says it of a room that does not exist.
                throw ChitChat.Membership.RoomAccessRules.RoomNotFound(room.Value);
            }
        }
        catch (ChatException ex)
        {
            await WriteErrorAsync(context, ex).ConfigureAwait(false);
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync().ConfigureAwait(false);
        await _hub.RunAsync(socket, room, context.RequestAborted).ConfigureAwait(false);
    }

    private static bool IsSameOrigin(HttpContext context, string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri)
        && string.Equals(uri.Authority, context.Request.Host.Value, StringComparison.OrdinalIgnoreCase);

    /// <summary>Adds the CORS headers for an allowed browser origin (also to a rate-limited answer: see <see cref="LegacyAuthRateLimitPolicy"/>).</summary>
    /// <param name="context">The request.</param>
    public void ApplyCors(HttpContext context)
    {
        if (_options.AllowedOrigins.Count == 0 || !context.Request.Headers.ContainsKey("Origin"))
        {
            return;
        }

        var result = _cors.EvaluatePolicy(context, _corsPolicy);
        _cors.ApplyResult(result, context.Response);
    }

    /// <summary>Reads a legacy <c>chatroomId</c>; when it is not a number writes the 400 answer and returns <see langword="null"/>.</summary>
    private async Task<int?> ReadChatroomIdAsync(HttpContext context, JsonElement chatroomId)
    {
        if (LegacyJsonContext.TryReadInt(chatroomId, out var value))
        {
            return value;
        }

        await BadRequestAsync(context, "chatroomId must be a number.").ConfigureAwait(false);
        return null;
    }

    /// <summary>Finds the room a legacy <c>chatroomId</c> stands for; when there is none writes the 400 answer and returns <see langword="null"/>.</summary>
    private async Task<string?> FindRoomAsync(HttpContext context, int chatroomId)
    {
        var room = await _rooms.FindRoomAsync(chatroomId, context.RequestAborted).ConfigureAwait(false);
        if (room is null)
        {
            await BadRequestAsync(context, "Unknown chatroomId.").ConfigureAwait(false);
        }

        return room;
    }

    /// <summary>Reads a JSON body; on failure writes the 400 (or 413) answer and returns <see langword="null"/>.</summary>
    private async Task<T?> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = _options.MaxRequestBodyBytes;
        }

        if (context.Request.ContentLength > _options.MaxRequestBodyBytes)
        {
            await WriteAsync(context, StatusCodes.Status413PayloadTooLarge, new LegacyStatus("Request body too large"), LegacyJsonContext.Default.LegacyStatus).ConfigureAwait(false);
            return null;
        }

        try
        {
            var value = await JsonSerializer.DeserializeAsync(context.Request.Body, typeInfo, context.RequestAborted).ConfigureAwait(false);
            if (value is null)
            {
                await BadRequestAsync(context, "A JSON object is required.").ConfigureAwait(false);
            }

            return value;
        }
        catch (JsonException)
        {
            await BadRequestAsync(context, "The body is not valid JSON.").ConfigureAwait(false);
            return null;
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await WriteAsync(context, StatusCodes.Status413PayloadTooLarge, new LegacyStatus("Request body too large"), LegacyJsonContext.Default.LegacyStatus).ConfigureAwait(false);
            return null;
        }
    }

    private Task BadRequestAsync(HttpContext context, string message)
    {
        LegacyLog.BadRequest(_logger, context.Request.Path, message);
        return WriteAsync(context, StatusCodes.Status400BadRequest, new LegacyStatus(message), LegacyJsonContext.Default.LegacyStatus);
    }

    private Task WriteErrorAsync(HttpContext context, ChatException exception)
    {
        LegacyLog.BadRequest(_logger, context.Request.Path, exception.Code);
        var status = exception.Code switch
        {
            ChatErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
            ChatErrorCodes.Unavailable => StatusCodes.Status503ServiceUnavailable,
            ChatErrorCodes.RoomNotFound when context.WebSockets.IsWebSocketRequest => StatusCodes.Status404NotFound,
            _ => StatusCodes.Status400BadRequest,
        };
        if (exception.RetryAfter is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        return WriteAsync(context, status, new LegacyStatus(exception.Message, exception.Errors), LegacyJsonContext.Default.LegacyStatus);
    }

    private static Task WriteAsync<T>(HttpContext context, int status, T value, JsonTypeInfo<T> typeInfo)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(value, typeInfo, contentType: null, context.RequestAborted);
    }
}
