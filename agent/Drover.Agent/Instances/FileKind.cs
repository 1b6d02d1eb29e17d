namespace Drover.Agent.Instances;

/// <summary>What a directory entry is, as far as a state snapshot cares.</summary>
internal enum FileKind
{
    Regular,
    Directory,
    SymbolicLink,
    Socket,
    Fifo,
    CharacterDevice,
    BlockDevice,
    Other,
}
