using System.Globalization;
using ChitChat;
using ChitChat.Sqlite;
using ChitChat.Storage;

// Usage: ChitChat.Sqlite.Writer <database file> <room> <messages> <concurrent writers> <label>
// Prints "ready" once the store is open, waits for a line on stdin (the start signal), appends, prints "done <count>".
if (args.Length != 5)
{
    Console.Error.WriteLine("usage: ChitChat.Sqlite.Writer <file> <room> <messages> <writers> <label>");
    return 64;
}

var file = args[0];
var room = args[1];
var count = int.Parse(args[2], CultureInfo.InvariantCulture);
var writers = int.Parse(args[3], CultureInfo.InvariantCulture);
var label = args[4];

await using var store = new SqliteChatStore(new SqliteStoreOptions
{
    ConnectionString = $"Data Source={file}",
    BusyTimeout = TimeSpan.FromSeconds(60),
});
await store.InitializeAsync();
Console.WriteLine("ready");
Console.Out.Flush();
if (Console.ReadLine() is null)
{
    return 65;
}

var next = -1;
var tasks = Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
{
    int i;
    while ((i = Interlocked.Increment(ref next)) < count)
    {
        var message = new NewMessage(Guid.CreateVersion7(), room, Guid.CreateVersion7(), label, $"{label} {i}", DateTimeOffset.UtcNow, $"{label}-{i}");
        var result = await store.Messages.AppendAsync(message);
        if (!result.Created)
        {
            throw new InvalidOperationException($"message {i} was not created");
        }
    }
}));
await Task.WhenAll(tasks);
Console.WriteLine($"done {count}");
return 0;
