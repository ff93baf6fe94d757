"""The agent inbox: the `/inbox` page, its websocket `/ws/inbox`, and canned replies.

The inbox only shows and relays: every rule about who may claim, reply or close lives in
`bot.ownership`, and the page acts through the agent API (`bot.api.agent`).
"""
