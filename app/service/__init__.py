"""`backdrop serve`: the REST API over the photo cut-out (`app.engine.files.cutout`).

`app.create_app(config)` builds the FastAPI app; `pool.WorkerPool` runs the cut-outs in
worker processes (each with its own model sessions and its share of the cores) behind a
bounded queue; `intake` reads and checks what a client sends before anything is decoded."""
