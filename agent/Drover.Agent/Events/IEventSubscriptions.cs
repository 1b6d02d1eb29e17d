namespace Drover.Agent.Events;

/// <summary>Where local subscribers subscribe to a channel's numbered status messages.</summary>
internal interface IEventSubscriptions
{
    /// <summary>
    /// Subscribes to <paramref name="channel"/>: messages after <paramref name="afterSequence"/>
    /// (0: only new ones), each sequence once and in order. Dispose to unsubscribe.
    /// </summary>
    IDisposable Subscribe(string channel, ulong afterSequence, IEventSubscriber subscriber);
}
