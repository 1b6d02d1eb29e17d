namespace Drover.Testing;

/// <summary>A fact that needs root (to run an instance as another user): skipped, and counted as such, otherwise.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (Environment.UserName != "root")
        {
            Skip = "needs root: only root runs an instance as another user";
        }
    }
}
