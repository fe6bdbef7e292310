"""Still photos: objects cut out by a saliency model, fine edges by alpha matting, a cut-out's
confidence, and the choice between the person and the object path (`docs/stills.md`)."""
