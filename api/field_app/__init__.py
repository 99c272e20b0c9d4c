"""The field app (a PWA for outreach workers), served at /field/ from its committed build."""
