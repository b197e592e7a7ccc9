"""SIP over UDP: messages, digest auth, SDP, transactions, dialogs and the user agent."""
