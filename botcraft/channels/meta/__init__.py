"""What WhatsApp and Instagram share on Meta's side: the Graph client and its errors, the
X-Hub-Signature-256 check, the webhooks and the channel base both build on."""
