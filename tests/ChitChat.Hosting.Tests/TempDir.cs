using Microsoft.Data.Sqlite;

namespace ChitChat.Hosting.Tests;

/// <summary>A directory under the system temp folder, deleted (best effort) on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir(string prefix = "chitchat-hosting-")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string ConnectionString(string name) => $"Data Source={System.IO.Path.Combine(Path, name + ".db")}";

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
