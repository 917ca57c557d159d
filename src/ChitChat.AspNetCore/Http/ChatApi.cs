using System.Globalization;
using ChitChat.Accounts;
using ChitChat.AspNetCore.Authentication;
using ChitChat.History;
using ChitChat.Messaging;
using ChitChat.Rooms;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>The HTTP API under <c>/api</c> (see docs/protocol.md).</summary>
internal static class ChatApi
{
    public const string AuthRateLimitPolicy = "ChitChat.Auth";

    public static RouteGroupBuilder MapChatApi(IEndpointRouteBuilder endpoints, string prefix)
    {
        // Request bodies are read by JsonBody (not parameter binding, and no Accepts metadata, which would answer a wrong
        // Content-Type with an empty 415) so that every bad body is a validation_failed or payload_too_large problem.
        var api = endpoints.MapGroup(prefix).WithTags("ChitChat");

        // One place maps every ChatException (including ChatStoreUnavailableException) of an API endpoint to problem details.
        api.AddEndpointFilter(static async (context, next) =>
        {
            try
            {
                return await next(context).ConfigureAwait(false);
            }
            catch (ChatException ex)
            {
                return new ChatProblemResult(ex);
            }
        });

        var auth = api.MapGroup("/auth").AllowAnonymous().RequireRateLimiting(AuthRateLimitPolicy);
        auth.MapPost("/register", RegisterAsync)
            .WithName("ChitChatRegister")
            .WithSummary("Registers a user.")
            .Produces<UserDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
        auth.MapPost("/login", LoginAsync)
            .WithName("ChitChatLogin")
            .WithSummary("Exchanges a user name and password for a bearer token.")
            .Produces<LoginResponse>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        api.MapGet("/limits", static (IOptions<ChitChatOptions> chat, IOptions<ChitChatAspNetCoreOptions> host) => TypedResults.Ok(WireMapping.ToLimits(chat.Value, host.Value)))
            .AllowAnonymous()
            .WithName("ChitChatLimits")
            .WithSummary("The limits this server enforces (message length, page sizes, send rate, typing expiry, hub frame size).")
            .Produces<ServerLimits>();

        var rooms = api.MapGroup("/rooms").RequireAuthorization(ChitChatAuthenticationDefaults.AuthorizationPolicy);
        rooms.MapGet("/", ListRoomsAsync)
            .WithName("ChitChatListRooms")
            .WithSummary("Lists the rooms.")
            .Produces<RoomDto[]>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        rooms.MapPost("/", CreateRoomAsync)
            .WithName("ChitChatCreateRoom")
            .WithSummary("Creates a room.")
            .Produces<RoomDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status409Conflict);
        rooms.MapGet("/{room}/messages", GetMessagesAsync)
            .WithName("ChitChatGetMessages")
            .WithSummary("Reads a page of a room's history, ascending by seq (query: limit, before, after).")
            .Produces<MessageDto[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPost("/{room}/messages", SendMessageAsync)
            .WithName("ChitChatSendMessage")
            .WithSummary("Sends a message; a repeat with the same clientMessageId returns the original (200).")
            .Produces<MessageDto>(StatusCodes.Status201Created)
            .Produces<MessageDto>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return api;
    }

    private static async Task<IResult> RegisterAsync(HttpContext context, AccountService accounts, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var body = await JsonBody.ReadAsync<RegisterBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var user = await accounts.RegisterAsync(new RegisterRequest(body.UserName, body.Password, body.FirstName, body.LastName), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Created((string?)null, user.ToDto());
    }

    private static async Task<IResult> LoginAsync(HttpContext context, AccountService accounts, ChitChatTokenService tokens, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var body = await JsonBody.ReadAsync<LoginBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var user = await accounts.VerifyCredentialsAsync(body.UserName, body.Password, context.RequestAborted).ConfigureAwait(false);
        var token = tokens.CreateToken(user);
        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Ok(new LoginResponse(token.AccessToken, token.ExpiresAt.UtcDateTime, user.ToDto()));
    }

    private static async Task<IResult> ListRoomsAsync(HttpContext context, RoomService rooms)
    {
        ChatClaims.GetIdentity(context.User);
        var list = await rooms.ListAsync(context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(list.Select(static r => r.ToDto()).ToArray());
    }

    private static async Task<IResult> CreateRoomAsync(HttpContext context, RoomService rooms, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var body = await JsonBody.ReadAsync<CreateRoomBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var room = await rooms.CreateAsync(RoomName.Parse(body.Name, "name"), identity, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Created($"{context.Request.PathBase}{context.Request.Path.Value?.TrimEnd('/')}/{room.Name}", room.ToDto());
    }

    private static async Task<IResult> GetMessagesAsync(HttpContext context, string room, HistoryService history)
    {
        ChatClaims.GetIdentity(context.User);
        var roomName = RoomName.Parse(room);

        // Only the syntax of the query string is checked here; the ranges (limit >= 1, before >= 1, after >= 0) are the
        // history service's, which answers the hub's GetHistory the same way.
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = ParseQuery(query["limit"], "limit", errors);
        var before = ParseQuery(query["before"], "before", errors);
        var after = ParseQuery(query["after"], "after", errors);
        if (errors.Count > 0)
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The query is not valid.", errors);
        }

        var page = await history.GetHistoryAsync(roomName, new HistoryQuery(before, after, limit is null ? null : (int)Math.Clamp(limit.Value, int.MinValue, int.MaxValue)), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(page.Select(static m => m.ToDto()).ToArray());
    }

    private static async Task<IResult> SendMessageAsync(HttpContext context, string room, MessageSender sender, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var body = await JsonBody.ReadAsync<SendMessageBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var request = new SendMessageRequest(RoomName.Parse(room), body.Text, body.ClientMessageId);
        var result = await sender.SendAsync(identity, request, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        var dto = result.Message.ToDto();
        return result.Created ? TypedResults.Created((string?)null, dto) : TypedResults.Ok(dto);
    }

    private static long? ParseQuery(string? value, string name, Dictionary<string, string[]> errors)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            errors[name] = [string.Create(CultureInfo.InvariantCulture, $"{name} must be a whole number.")];
            return null;
        }

        return parsed;
    }
}
