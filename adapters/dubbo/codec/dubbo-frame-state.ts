// DubboFrameState: what the codec remembers about a decoded frame (the
// Message's codecState), so encode can splice new attachments in without
// parsing the body again up to them.

export class DubboFrameState {
  constructor(
    /** Header byte 2: request / two-way / event bits and the serialization id. */
    readonly flags: number,
    /** Header byte 3: the response status (0 on requests). */
    readonly status: number,
    /**
     * Where the attachments map starts in the frame; the frame's length when
     * the message has none (a mutation then appends one).
     */
    readonly attachmentsStart: number,
    /** Responses: the result flag (0..5); -1 on requests and error responses. */
    readonly resultFlag: number,
    readonly service: string,
    readonly method: string,
  ) {}
}
