using Dataplane.Conformance.Model;
using Dataplane.Conformance.Results;

namespace Dataplane.Conformance.Tests.Results;

public sealed class RunStoreTests : IDisposable
{
    private readonly string _results = Directory.CreateTempSubdirectory("dpc-store-").FullName;

    public void Dispose() => Directory.Delete(_results, recursive: true);

    [Fact]
    public void Save_and_load_round_trip_a_run_with_statuses_written_as_their_names()
    {
        Row[] rows = [.. StatusInfo.All.Select((status, i) => new Row(
            $"test-{i}", $"status {status.Name()}",
            new Result($"test-{i}", status, $"why {i}", i == 0 ? 1.5e9 : null, i == 0 ? "recv" : null, i == 0 ? "dataplane/test-0.log" : null, i),
            i == 0 ? new Result("test-0", Status.Pass, "", 3e9, "recv", "linux/test-0.log", 1) : null))];
        var run = new Run("2026-11-25T01-02-03-tap-direct", new DateTimeOffset(2026, 11, 25, 1, 2, 3, TimeSpan.Zero),
            "two-hosts", "tap", ["direct", "jumbo"], "fedcba9876543210", "lab2", rows);
        string folder = Path.Combine(_results, run.Id);

        RunStore.Save(run, folder);
        Run? loaded = RunStore.Load(folder);

        string json = File.ReadAllText(Path.Combine(folder, RunStore.RunFile));
        foreach (Status status in StatusInfo.All)
            Assert.Contains($"\"status\": \"{status.Name()}\"", json);
        Assert.Contains("\"NOEXIT\"", json);
        Assert.NotNull(loaded);
        Assert.Equal(run.Id, loaded.Id);
        Assert.Equal(run.Started, loaded.Started);
        Assert.Equal((run.Lab, run.Driver, run.Commit, run.Host), (loaded.Lab, loaded.Driver, loaded.Commit, loaded.Host));
        Assert.Equal(run.Modifiers, loaded.Modifiers);
        Assert.Equal(run.Rows.Count, loaded.Rows.Count);
        for (int i = 0; i < run.Rows.Count; i++)
        {
            Assert.Equal(run.Rows[i].Test, loaded.Rows[i].Test);
            Assert.Equal(run.Rows[i].Description, loaded.Rows[i].Description);
            Assert.Equal(run.Rows[i].Dataplane, loaded.Rows[i].Dataplane);
            Assert.Equal(run.Rows[i].Linux, loaded.Rows[i].Linux);
        }
        Assert.Equal(50.0, loaded.Rows[0].PercentOfLinux);
        Assert.Equal([(run.Id, folder)], RunStore.LoadAll(_results).Select(r => (r.Run.Id, r.Folder)));
    }
}
