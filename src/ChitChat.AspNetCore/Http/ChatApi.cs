using System.Globalization;
using ChitChat.Accounts;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChitChat.AspNetCore.Authentication;
using ChitChat.AspNetCore.Authorization;
using ChitChat.Membership;
using Microsoft.AspNetCore.Authorization;
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
            .WithSummary("Lists the caller's rooms: public rooms, and the private and direct rooms the caller is a member of.")
            .Produces<RoomListEntryDto[]>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        rooms.MapPost("/", CreateRoomAsync)
            .WithName("ChitChatCreateRoom")
            .WithSummary("Creates a public or private room; the creator is its owner.")
            .Produces<RoomDto>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict);
        rooms.MapGet("/{room}", GetRoomAsync)
            .WithName("ChitChatGetRoom")
            .WithSummary("Gets a room.")
            .Produces<RoomDto>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPatch("/{room}", UpdateRoomAsync)
            .WithName("ChitChatUpdateRoom")
            .WithSummary("Changes a room's topic (owner, moderator).")
            .Produces<RoomDto>()
            .ProducesRoomProblems();
        rooms.MapGet("/{room}/members", ListMembersAsync)
            .WithName("ChitChatListMembers")
            .WithSummary("Lists a room's members.")
            .Produces<MemberDto[]>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPost("/{room}/members", AddMemberAsync)
            .WithName("ChitChatAddMember")
            .WithSummary("Adds a member: yourself into a public room, anyone as an owner or moderator; an existing member is returned (200).")
            .Produces<MemberDto>(StatusCodes.Status201Created)
            .Produces<MemberDto>()
            .ProducesRoomProblems();
        rooms.MapDelete("/{room}/members/{userName}", RemoveMemberAsync)
            .WithName("ChitChatRemoveMember")
            .WithSummary("Leaves (yourself) or removes a member (owner, moderator).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesRoomProblems();
        rooms.MapPatch("/{room}/members/{userName}", UpdateMemberAsync)
            .WithName("ChitChatUpdateMember")
            .WithSummary("Changes a member's role (owner) and/or mute (owner, moderator), together or not at all.")
            .Produces<MemberDto>()
            .ProducesRoomProblems();
        rooms.MapPut("/{room}/bans/{userName}", BanAsync)
            .WithName("ChitChatBan")
            .WithSummary("Bans a user: removed and barred from rejoining (owner, moderator).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesRoomProblems();
        rooms.MapDelete("/{room}/bans/{userName}", UnbanAsync)
            .WithName("ChitChatUnban")
            .WithSummary("Lifts a ban (owner, moderator).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapGet("/{room}/bans", ListBansAsync)
            .WithName("ChitChatListBans")
            .WithSummary("Lists the bans in force (owner, moderator).")
            .Produces<BanDto[]>()
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapGet("/{room}/messages", GetMessagesAsync)
            .WithName("ChitChatGetMessages")
            .WithSummary("Reads a page of a room's history, ascending by seq (query: limit, before, after).")
            .Produces<MessageDto[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPost("/{room}/messages", SendMessageAsync)
            .WithName("ChitChatSendMessage")
            .WithSummary("Sends a message; a repeat with the same clientMessageId returns the original (200).")
            .Produces<MessageDto>(StatusCodes.Status201Created)
            .Produces<MessageDto>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        rooms.MapPatch("/{room}/messages/{id}", EditMessageAsync)
            .WithName("ChitChatEditMessage")
            .WithSummary("Edits a message's text (its author, within ChitChat:EditWindow).")
            .Produces<MessageDto>()
            .ProducesRoomProblems()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        rooms.MapDelete("/{room}/messages/{id}", DeleteMessageAsync)
            .WithName("ChitChatDeleteMessage")
            .WithSummary("Deletes a message (its author, an owner or a moderator): a tombstone keeps its place.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);
        rooms.MapPut("/{room}/messages/{id}/reactions/{emoji}", ReactAsync)
            .WithName("ChitChatReact")
            .WithSummary("Adds the caller's reaction (repeating it changes nothing).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesRoomProblems();
        rooms.MapDelete("/{room}/messages/{id}/reactions/{emoji}", UnreactAsync)
            .WithName("ChitChatUnreact")
            .WithSummary("Removes the caller's reaction.")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesRoomProblems();
        rooms.MapGet("/{room}/messages/{id}/replies", GetRepliesAsync)
            .WithName("ChitChatGetReplies")
            .WithSummary("Reads a thread: the replies of a root message, ascending by seq (query: after, limit).")
            .Produces<MessageDto[]>()
            .ProducesRoomProblems();
        rooms.MapGet("/{room}/events", GetEventsAsync)
            .WithName("ChitChatGetEvents")
            .WithSummary("Reads the room's event sequence after a seq: new messages and updates, ascending (query: after, limit 1 to 500, default 100).")
            .Produces<RoomEventDto[]>()
            .ProducesRoomProblems();
        rooms.MapPut("/{room}/read", MarkReadAsync)
            .WithName("ChitChatMarkRead")
            .WithSummary("Moves the caller's read marker forward (clamped to the room's last seq).")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesRoomProblems();

        api.MapGet("/search", SearchAsync)
            .RequireAuthorization(ChitChatAuthenticationDefaults.AuthorizationPolicy)
            .WithName("ChitChatSearch")
            .WithSummary("Searches the messages of the rooms the caller may read, newest first (query: q, room, limit 1 to 100, default 20, before: a message id).")
            .Produces<MessageDto[]>()
            .ProducesRoomProblems();

        api.MapPost("/direct", CreateDirectAsync)
            .RequireAuthorization(ChitChatAuthenticationDefaults.AuthorizationPolicy)
            .WithName("ChitChatDirect")
            .WithSummary("Gets (200) or creates (201) the direct room of the caller and the named users.")
            .Produces<RoomDto>(StatusCodes.Status201Created)
            .Produces<RoomDto>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        var users = api.MapGroup("/users").RequireAuthorization(ChitChatAuthenticationDefaults.AuthorizationPolicy);
        users.MapGet("/", SearchUsersAsync)
            .WithName("ChitChatSearchUsers")
            .WithSummary("The user directory by user-name prefix (query: search, limit 1 to 100, default 20).")
            .Produces<UserProfileDto[]>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
        users.MapGet("/me", GetMeAsync)
            .WithName("ChitChatMe")
            .WithSummary("The caller.")
            .Produces<UserProfileDto>()
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return api;
    }

    /// <summary>The problems every operation on a room can answer: bad input (400), refused (403), and a room, message or user
    /// the caller cannot see (404).</summary>
    private static RouteHandlerBuilder ProducesRoomProblems(this RouteHandlerBuilder builder) =>
        builder.ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound);

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

    private static async Task<IResult> ListRoomsAsync(HttpContext context, MembershipService membership)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var list = await membership.ListRoomsAsync(identity, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(list.Select(static r => r.ToListDto()).ToArray());
    }

    private static async Task<IResult> CreateRoomAsync(HttpContext context, RoomService rooms, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var body = await JsonBody.ReadAsync<CreateRoomBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var name = RoomName.Parse(body.Name, "name");
        var kind = WireMapping.ParseCreatableKind(body.Kind);
        await RoomAuthorization.AuthorizeCreateAsync(authorization, context.User, new RoomCreation(identity, name, kind, body.Topic)).ConfigureAwait(false);
        var room = await rooms.CreateAsync(name, identity, kind, body.Topic, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Created($"{context.Request.PathBase}{context.Request.Path.Value?.TrimEnd('/')}/{room.Name}", room.ToDto(0, 1));
    }

    private static async Task<IResult> GetRoomAsync(HttpContext context, string room, MembershipService membership, IAuthorizationService authorization)
    {
        var name = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var entry = await membership.GetRoomAsync(ChatClaims.GetIdentity(context.User), name, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(entry.ToDto());
    }

    private static async Task<IResult> UpdateRoomAsync(HttpContext context, string room, RoomService rooms, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var name = RoomName.Parse(room);
        var identity = ChatClaims.GetIdentity(context.User);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.UpdateTopic, context.RequestAborted).ConfigureAwait(false);
        var body = await JsonBody.ReadAsync<UpdateRoomBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        await rooms.UpdateTopicAsync(identity, name, body.Topic, context.RequestAborted).ConfigureAwait(false);
        var entry = await membership.GetRoomAsync(identity, name, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(entry.ToDto());
    }

    private static async Task<IResult> ListMembersAsync(HttpContext context, string room, MembershipService membership, IAuthorizationService authorization)
    {
        var name = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var members = await membership.ListMembersAsync(ChatClaims.GetIdentity(context.User), name, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(members.Select(static m => m.ToMemberDto()).ToArray());
    }

    private static async Task<IResult> AddMemberAsync(HttpContext context, string room, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var name = RoomName.Parse(room);
        var identity = ChatClaims.GetIdentity(context.User);
        var body = await JsonBody.ReadAsync<AddMemberBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var self = string.Equals(body.UserName, identity.UserName, StringComparison.OrdinalIgnoreCase);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, self ? RoomOperation.Join : RoomOperation.AddMember, context.RequestAborted).ConfigureAwait(false);
        var (member, created) = await membership.AddMemberAsync(identity, name, body.UserName, context.RequestAborted).ConfigureAwait(false);
        var dto = member.ToMemberDto();
        return created ? TypedResults.Created((string?)null, dto) : TypedResults.Ok(dto);
    }

    private static async Task<IResult> RemoveMemberAsync(HttpContext context, string room, string userName, MembershipService membership, IAuthorizationService authorization)
    {
        var name = RoomName.Parse(room);
        var identity = ChatClaims.GetIdentity(context.User);
        var self = string.Equals(userName, identity.UserName, StringComparison.OrdinalIgnoreCase);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, self ? RoomOperation.Leave : RoomOperation.Moderate, context.RequestAborted).ConfigureAwait(false);
        await membership.RemoveMemberAsync(identity, name, userName, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> UpdateMemberAsync(HttpContext context, string room, string userName, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var name = RoomName.Parse(room);
        var identity = ChatClaims.GetIdentity(context.User);

        // Read as a JSON object: an absent mutedUntil keeps the mute, an explicit null lifts it.
        var body = await JsonBody.ReadAsync<JsonObject>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var update = ParseMemberUpdate(body);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, update.Role is null ? RoomOperation.Moderate : RoomOperation.ManageRoles, context.RequestAborted).ConfigureAwait(false);
        if (update.Role is not null && update.SetMute)
        {
            await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.Moderate, context.RequestAborted).ConfigureAwait(false);
        }

        var member = await membership.UpdateMemberAsync(identity, name, userName, update, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(member.ToMemberDto());
    }

    private static async Task<IResult> BanAsync(HttpContext context, string room, string userName, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var name = RoomName.Parse(room);
        var identity = ChatClaims.GetIdentity(context.User);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.Moderate, context.RequestAborted).ConfigureAwait(false);

        // The body is optional: none is a permanent ban without a reason.
        var hasBody = context.Request.ContentLength is > 0 || (context.Request.ContentLength is null && context.Request.HasJsonContentType());
        var body = hasBody ? await JsonBody.ReadAsync<BanBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false) : new BanBody();
        DateTimeOffset? until = body.Until is { } u ? new DateTimeOffset(DateTime.SpecifyKind(u, u.Kind == DateTimeKind.Unspecified ? DateTimeKind.Utc : u.Kind).ToUniversalTime()) : null;
        await membership.BanAsync(identity, name, userName, until, body.Reason, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> UnbanAsync(HttpContext context, string room, string userName, MembershipService membership, IAuthorizationService authorization)
    {
        var name = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.Moderate, context.RequestAborted).ConfigureAwait(false);
        await membership.UnbanAsync(ChatClaims.GetIdentity(context.User), name, userName, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ListBansAsync(HttpContext context, string room, MembershipService membership, IAuthorizationService authorization)
    {
        var name = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, name, RoomOperation.Moderate, context.RequestAborted).ConfigureAwait(false);
        var bans = await membership.ListBansAsync(ChatClaims.GetIdentity(context.User), name, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(bans.Select(static b => b.ToBanDto()).ToArray());
    }

    private static async Task<IResult> CreateDirectAsync(HttpContext context, MembershipService membership, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var body = await JsonBody.ReadAsync<CreateDirectBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var (room, created) = await membership.GetOrCreateDirectAsync(identity, body.UserNames, context.RequestAborted).ConfigureAwait(false);
        var entry = await membership.GetRoomAsync(identity, RoomName.Parse(room.Name), context.RequestAborted).ConfigureAwait(false);
        var dto = entry.ToDto();
        return created ? TypedResults.Created($"{context.Request.PathBase}{ChitChatRoutes.Rooms}/{room.Name}", dto) : TypedResults.Ok(dto);
    }

    private static async Task<IResult> SearchUsersAsync(HttpContext context, AccountService accounts)
    {
        ChatClaims.GetIdentity(context.User);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = ParseQuery(context.Request.Query["limit"], "limit", errors);
        if (errors.Count > 0)
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The query is not valid.", errors);
        }

        int? pageSize = limit is null ? null : (int)Math.Clamp(limit.Value, int.MinValue, int.MaxValue);
        var found = await accounts.SearchUsersAsync(context.Request.Query["search"].ToString(), pageSize, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(found.Select(static u => u.ToProfileDto()).ToArray());
    }

    private static async Task<IResult> GetMeAsync(HttpContext context, AccountService accounts)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var user = await accounts.FindUserAsync(identity.UserId, context.RequestAborted).ConfigureAwait(false)
            ?? throw new ChatException(ChatErrorCodes.Unauthorized, "The token's user does not exist.");
        return TypedResults.Ok(user.ToProfileDto());
    }

    private static MemberUpdate ParseMemberUpdate(JsonObject body)
    {
        MemberRole? role = null;
        var setMute = false;
        DateTimeOffset? mutedUntil = null;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (key, value) in body)
        {
            if (string.Equals(key, "role", StringComparison.OrdinalIgnoreCase))
            {
                if (value is null)
                {
                    continue;
                }

                if (value.GetValueKind() != JsonValueKind.String)
                {
                    errors["role"] = ["role is 'owner', 'moderator' or 'member'."];
                    continue;
                }

                try
                {
                    role = WireMapping.ParseRole(value.GetValue<string>());
                }
                catch (ChatException ex)
                {
                    errors["role"] = [ex.Message];
                }
            }
            else if (string.Equals(key, "mutedUntil", StringComparison.OrdinalIgnoreCase))
            {
                setMute = true;
                if (value is null)
                {
                    continue;
                }

                if (value.GetValueKind() != JsonValueKind.String
                    || !DateTimeOffset.TryParse(value.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var parsed))
                {
                    errors["mutedUntil"] = ["mutedUntil is an ISO-8601 UTC time or null."];
                    continue;
                }

                mutedUntil = parsed;
            }
        }

        if (errors.Count > 0)
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The request body is not valid.", errors);
        }

        return new MemberUpdate(role, setMute, mutedUntil);
    }

    private static async Task<IResult> GetMessagesAsync(HttpContext context, string room, HistoryService history, MembershipService membership, IAuthorizationService authorization)
    {
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

        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var page = await history.GetHistoryAsync(roomName, new HistoryQuery(before, after, limit is null ? null : (int)Math.Clamp(limit.Value, int.MinValue, int.MaxValue)), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(page.Select(static m => m.ToDto()).ToArray());
    }

    private static async Task<IResult> SendMessageAsync(HttpContext context, string room, MessageSender sender, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, RoomName.Parse(room), RoomOperation.Send, context.RequestAborted).ConfigureAwait(false);
        var body = await JsonBody.ReadAsync<SendMessageBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var request = new SendMessageRequest(RoomName.Parse(room), body.Text, body.ClientMessageId) { ReplyTo = body.ReplyTo };
        var result = await sender.SendAsync(identity, request, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        var dto = result.Message.ToDto();
        return result.Created ? TypedResults.Created((string?)null, dto) : TypedResults.Ok(dto);
    }

    private static async Task<IResult> EditMessageAsync(HttpContext context, string room, string id, MessageOperations operations, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var roomName = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Send, context.RequestAborted).ConfigureAwait(false);
        var messageId = ParseMessageId(id);
        var body = await JsonBody.ReadAsync<EditMessageBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);
        var message = await operations.EditAsync(ChatClaims.GetIdentity(context.User), roomName, messageId, body.Text, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(message.ToDto());
    }

    private static async Task<IResult> DeleteMessageAsync(HttpContext context, string room, string id, MessageOperations operations, MembershipService membership, IAuthorizationService authorization)
    {
        var roomName = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var messageId = ParseMessageId(id);
        await operations.DeleteAsync(ChatClaims.GetIdentity(context.User), roomName, messageId, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> ReactAsync(HttpContext context, string room, string id, string emoji, MessageOperations operations, MembershipService membership, IAuthorizationService authorization)
    {
        var roomName = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Send, context.RequestAborted).ConfigureAwait(false);
        var messageId = ParseMessageId(id);
        await operations.ReactAsync(ChatClaims.GetIdentity(context.User), roomName, messageId, emoji, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> UnreactAsync(HttpContext context, string room, string id, string emoji, MessageOperations operations, MembershipService membership, IAuthorizationService authorization)
    {
        var roomName = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var messageId = ParseMessageId(id);
        await operations.UnreactAsync(ChatClaims.GetIdentity(context.User), roomName, messageId, emoji, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> GetRepliesAsync(HttpContext context, string room, string id, HistoryService history, MembershipService membership, IAuthorizationService authorization)
    {
        var roomName = RoomName.Parse(room);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = ParseQuery(context.Request.Query["limit"], "limit", errors);
        var after = ParseQuery(context.Request.Query["after"], "after", errors);
        ThrowIfAny(errors);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var messageId = ParseMessageId(id);
        var page = await history.GetRepliesAsync(roomName, messageId, after, ToInt(limit), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(page.Select(static m => m.ToDto()).ToArray());
    }

    private static async Task<IResult> GetEventsAsync(HttpContext context, string room, HistoryService history, MembershipService membership, IAuthorizationService authorization)
    {
        var roomName = RoomName.Parse(room);
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = ParseQuery(context.Request.Query["limit"], "limit", errors);
        var after = ParseQuery(context.Request.Query["after"], "after", errors);
        ThrowIfAny(errors);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var page = await history.GetEventsAsync(roomName, after, ToInt(limit), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(page.Select(static e => e.ToDto()).ToArray());
    }

    private static async Task<IResult> MarkReadAsync(HttpContext context, string room, ReadState.ReadStateService readState, MembershipService membership, IAuthorizationService authorization, IOptions<ChitChatAspNetCoreOptions> options)
    {
        var roomName = RoomName.Parse(room);
        await RoomAuthorization.AuthorizeAsync(authorization, membership, context.User, roomName, RoomOperation.Read, context.RequestAborted).ConfigureAwait(false);
        var body = await JsonBody.ReadAsync<MarkReadBody>(context, options.Value.Http.MaxRequestBodySize).ConfigureAwait(false);

        // No connection to spare: every connection of the caller gets the read event.
        await readState.MarkReadAsync(ChatClaims.GetIdentity(context.User), roomName, body.Seq, null, context.RequestAborted).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> SearchAsync(HttpContext context, Search.SearchService search)
    {
        var identity = ChatClaims.GetIdentity(context.User);
        var query = context.Request.Query;
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        var limit = ParseQuery(query["limit"], "limit", errors);
        Guid? before = null;
        if (!string.IsNullOrEmpty(query["before"]))
        {
            if (Guid.TryParse(query["before"], out var id))
            {
                before = id;
            }
            else
            {
                errors["before"] = ["before is the id of a message."];
            }
        }

        ThrowIfAny(errors);
        var room = string.IsNullOrEmpty(query["room"]) ? null : query["room"].ToString();
        var found = await search.SearchAsync(identity, new Search.SearchRequest(query["q"].ToString(), room, ToInt(limit), before), context.RequestAborted).ConfigureAwait(false);
        return TypedResults.Ok(found.Select(static m => m.ToDto()).ToArray());
    }

    /// <summary>An id that is no GUID names no message: <c>message_not_found</c>, like an unknown one (checked after the room's access).</summary>
    private static Guid ParseMessageId(string id) => Guid.TryParse(id, out var parsed) ? parsed : throw MessageOperations.MessageNotFoundError(id);

    private static void ThrowIfAny(Dictionary<string, string[]> errors)
    {
        if (errors.Count > 0)
        {
            throw new ChatException(ChatErrorCodes.ValidationFailed, "The query is not valid.", errors);
        }
    }

    private static int? ToInt(long? value) => value is null ? null : (int)Math.Clamp(value.Value, int.MinValue, int.MaxValue);

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
